//! A loopback TCP proxy that a test can cut and restore, to make a database
//! unreachable for the app without touching the database server itself.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards `127.0.0.1:<port>` to a target while open.
pub struct TcpProxy {
    pub address: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl TcpProxy {
    /// Starts forwarding a new loopback port to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let proxy = Self {
            address: listener.local_addr().expect("proxy address"),
            target,
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    /// Stops listening and cuts every forwarded connection.
    pub fn close(&self) {
        for task in self.tasks.lock().expect("proxy tasks").drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn reopen(&self) {
        let listener = TcpListener::bind(self.address).await.expect("proxy rebind");
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let tasks = Arc::clone(&self.tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks
                    .lock()
                    .expect("proxy tasks")
                    .push(forward.abort_handle());
            }
        });
        self.tasks
            .lock()
            .expect("proxy tasks")
            .push(accept.abort_handle());
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.close();
    }
}
