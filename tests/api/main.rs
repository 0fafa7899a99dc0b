#[macro_use]
mod backend;
mod delete_user;
mod durability;
mod errors;
mod health;
mod helpers;
mod login;
mod logout;
mod migrations;
mod password_hashing;
mod process;
mod session;
mod shared_database;
mod sign_up;
mod startup;
mod update_user;
mod users;
