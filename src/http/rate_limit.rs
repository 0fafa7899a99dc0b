//! Per-address rate limits (contract section 5): GCRA from `governor`,
//! keyed by the client address, per process. IPv6 clients are keyed by
//! their /64, since one host usually holds a whole /64.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::Request;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_address::ProxyTrust;
use crate::config::RateQuota;
use crate::error::ApiError;
use crate::telemetry;

/// How often the limiters forget addresses whose allowance is full again.
pub const JANITOR_INTERVAL: Duration = Duration::from_secs(60);

/// The routes with a per-address limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limited {
    Login,
    SignUp,
    Update,
    /// `POST /api/auth/passkey`: its own limit, apart from the password login's.
    PasskeyLogin,
    /// `POST /api/auth/passkey/options`: each stores a challenge.
    PasskeyOptions,
    /// `POST /auth/otp` with `action: create` (section 10).
    ResetCodeCreate,
    /// `POST /auth/otp` with `action: validate`.
    ResetCodeValidate,
    /// `GET /auth/{provider}` starting a sign-in (section 14).
    ProviderSignIn,
}

/// Section 10's per-address limits, fixed by the contract.
const RESET_CODE_CREATE: RateQuota = RateQuota {
    count: 5,
    period: Duration::from_secs(600),
};
const RESET_CODE_VALIDATE: RateQuota = RateQuota {
    count: 30,
    period: Duration::from_secs(600),
};

impl Limited {
    /// The `limit` label of its refusals in the metrics.
    pub fn metric_label(self) -> &'static str {
        match self {
            Self::Login => "login_per_address",
            Self::SignUp => "sign_up_per_address",
            Self::Update => "update_per_address",
            Self::PasskeyLogin => "passkey_login_per_address",
            Self::PasskeyOptions => "passkey_options_per_address",
            Self::ResetCodeCreate => "reset_code_create_per_address",
            Self::ResetCodeValidate => "reset_code_validate_per_address",
            Self::ProviderSignIn => "provider_sign_in_per_address",
        }
    }

    /// What the limit counts, for the operator's log.
    pub fn description(self) -> &'static str {
        match self {
            Self::Login => "logins per client address",
            Self::SignUp => "sign-ups per client address",
            Self::Update => "account updates per client address",
            Self::PasskeyLogin => "passkey sign-ins per client address",
            Self::PasskeyOptions => "passkey sign-in options per client address",
            Self::ResetCodeCreate => "password reset codes asked for per client address",
            Self::ResetCodeValidate => "password reset codes tried per client address",
            Self::ProviderSignIn => "provider sign-ins started per client address",
        }
    }

    /// The setting that changes it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::Login => "--login-rate-limit",
            Self::SignUp => "--sign-up-rate-limit",
            Self::Update => "--update-rate-limit",
            Self::PasskeyLogin | Self::PasskeyOptions => "--passkey-rate-limit",
            Self::ResetCodeCreate | Self::ResetCodeValidate => "(fixed by the contract)",
            Self::ProviderSignIn => "--oauth-rate-limit",
        }
    }
}

/// How many routes have a limit: one limiter each.
const LIMITED_ROUTES: usize = 8;

/// One keyed limiter per limited route, indexed by [`Limited`].
pub struct RateLimits {
    limiters: [DefaultKeyedRateLimiter<IpAddr>; LIMITED_ROUTES],
    quotas: [RateQuota; LIMITED_ROUTES],
    proxies: ProxyTrust,
}

/// The quota of each limited route.
#[derive(Clone, Copy, Debug)]
pub struct RouteQuotas {
    pub login: RateQuota,
    pub sign_up: RateQuota,
    pub update: RateQuota,
    /// Passkey sign-ins, and separately their options requests.
    pub passkey: RateQuota,
    /// Provider sign-ins started.
    pub provider: RateQuota,
}

impl RateLimits {
    pub fn new(quotas: RouteQuotas, proxies: ProxyTrust) -> Self {
        // In the order of `Limited`'s variants.
        let quotas = [
            quotas.login,
            quotas.sign_up,
            quotas.update,
            quotas.passkey,
            quotas.passkey,
            RESET_CODE_CREATE,
            RESET_CODE_VALIDATE,
            quotas.provider,
        ];
        Self {
            limiters: quotas.map(|rate| RateLimiter::keyed(quota(rate))),
            quotas,
            proxies,
        }
    }

    /// Counts this request; `Err` holds how long the client must wait.
    pub fn check<B>(&self, route: Limited, request: &Request<B>) -> Result<(), Duration> {
        self.check_address(route, self.proxies.client_address(request))
    }

    /// Counts a request of `client`; `Err` holds how long it must wait.
    pub fn check_address(&self, route: Limited, client: IpAddr) -> Result<(), Duration> {
        self.limiters[route as usize]
            .check_key(&rate_key(client))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The 429 for `route`, counted and explained in one warn line: a
    /// newcomer trying the API by hand meets this first, so it names the
    /// limit and what changes it.
    pub fn refusal(&self, route: Limited, wait: Duration) -> ApiError {
        telemetry::throttled(route.metric_label());
        tracing::warn!(
            limit = route.description(),
            quota = %self.quota(route),
            setting = route.setting(),
            retry_after_secs = wait.as_secs_f64().ceil() as u64,
            "rate limit reached: {} ({}); {} changes it, --rate-limits off switches every limit off (local experiments only)",
            route.description(),
            self.quota(route),
            route.setting(),
        );
        ApiError::too_many_requests(wait)
    }

    /// The quota in force for `route`.
    pub fn quota(&self, route: Limited) -> RateQuota {
        self.quotas[route as usize]
    }

    /// Drops the state of addresses that are back to a full allowance, so
    /// the keyed stores do not grow with every address ever seen.
    pub fn forget_idle_addresses(&self) {
        for limiter in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Addresses currently remembered, over all limiters.
    pub fn remembered_addresses(&self) -> usize {
        self.limiters.iter().map(|limiter| limiter.len()).sum()
    }
}

/// N per period with a burst of N: the allowance refills one every period / N.
fn quota(rate: RateQuota) -> Quota {
    let count = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
    let refill = (rate.period / count.get()).max(Duration::from_nanos(1));
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(count))
        .allow_burst(count)
}

/// IPv4 as is (IPv4-mapped IPv6 too); IPv6 by its /64 prefix.
pub(crate) fn rate_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::client_address::test_request as request;

    #[test]
    fn ipv6_addresses_share_a_key_per_64_and_mapped_ipv4_is_ipv4() {
        let a = rate_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = rate_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let other = rate_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(
            rate_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_quota_of_n_allows_a_burst_of_n_then_refuses_with_a_wait() {
        let one_a_minute = RateQuota {
            count: 1,
            period: Duration::from_secs(60),
        };
        let limits = RateLimits::new(
            RouteQuotas {
                login: RateQuota {
                    count: 3,
                    period: Duration::from_secs(60),
                },
                sign_up: one_a_minute,
                update: one_a_minute,
                passkey: one_a_minute,
                provider: one_a_minute,
            },
            ProxyTrust::default(),
        );
        let client = request("192.0.2.1:1", None);
        for _ in 0..3 {
            assert!(limits.check(Limited::Login, &client).is_ok());
        }
        let wait = limits.check(Limited::Login, &client).unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limits
                .check(Limited::Login, &request("192.0.2.2:1", None))
                .is_ok(),
            "per address"
        );
        assert!(limits.check(Limited::SignUp, &client).is_ok(), "per route");
        assert!(limits.check(Limited::PasskeyLogin, &client).is_ok());
        assert!(
            limits.check(Limited::PasskeyOptions, &client).is_ok(),
            "sign-in options are counted apart from sign-ins"
        );
        assert!(limits.check(Limited::PasskeyLogin, &client).is_err());
        assert_eq!(limits.quota(Limited::PasskeyOptions), one_a_minute);
        assert_eq!(limits.remembered_addresses(), 5);
    }
}
