//! Per-user budgets: requests per minute and query cost per minute (a document's expanded
//! selections, known before it runs), as token buckets that refill continuously. Kept in each
//! replica's memory: with N replicas behind a balancer a user gets up to N times the budget
//! (documented; a shared budget would cost a database write per request).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bellwether_domain::UserId;

/// Whose budget a request spends: a signed-in user's, or, for tokenless introspection, the
/// peer address's (behind a proxy all tokenless callers share the proxy's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    User(UserId),
    Address(std::net::IpAddr),
}

impl From<UserId> for Caller {
    fn from(u: UserId) -> Self {
        Self::User(u)
    }
}

/// Buckets kept before idle ones (full again) are dropped.
const PRUNE_AT: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    requests: f64,
    cost: f64,
    at: Instant,
}

/// What a request may do, and what is left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// Go ahead; `remaining` requests are left, the budget is full again in `reset` seconds.
    Allowed { limit: u32, remaining: u32, reset: u64 },
    /// Over budget: try again in `retry_after` seconds.
    Limited { limit: u32, retry_after: u64 },
}

/// The per-user budgets of one replica.
pub struct RateLimits {
    requests_per_minute: u32,
    cost_per_minute: u64,
    buckets: Mutex<HashMap<Caller, Bucket>>,
}

impl RateLimits {
    /// A limit of 0 switches that budget off.
    pub fn new(requests_per_minute: u32, cost_per_minute: u64) -> Self {
        Self { requests_per_minute, cost_per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    pub fn enabled(&self) -> bool {
        self.requests_per_minute > 0 || self.cost_per_minute > 0
    }

    /// Charges one request costing `cost` to `user` at `now`, if the budgets allow it.
    pub fn check(&self, caller: impl Into<Caller>, cost: u64, now: Instant) -> Verdict {
        let user = caller.into();
        let (rpm, cpm) = (f64::from(self.requests_per_minute), self.cost_per_minute as f64);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(60));
        }
        let b = buckets.entry(user).or_insert(Bucket { requests: rpm, cost: cpm, at: now });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.requests = (b.requests + elapsed * rpm / 60.0).min(rpm);
        b.cost = (b.cost + elapsed * cpm / 60.0).min(cpm);
        b.at = now;
        // A document costlier than the whole budget waits for a full budget, not forever.
        let cost = (cost as f64).min(cpm);
        let short_requests = if rpm > 0.0 { (1.0 - b.requests).max(0.0) / (rpm / 60.0) } else { 0.0 };
        let short_cost = if cpm > 0.0 { (cost - b.cost).max(0.0) / (cpm / 60.0) } else { 0.0 };
        let wait = short_requests.max(short_cost);
        if wait > 0.0 {
            return Verdict::Limited { limit: self.requests_per_minute, retry_after: wait.ceil().max(1.0) as u64 };
        }
        if rpm > 0.0 {
            b.requests -= 1.0;
        }
        if cpm > 0.0 {
            b.cost -= cost;
        }
        let refill_requests = if rpm > 0.0 { (rpm - b.requests) / (rpm / 60.0) } else { 0.0 };
        let refill_cost = if cpm > 0.0 { (cpm - b.cost) / (cpm / 60.0) } else { 0.0 };
        Verdict::Allowed {
            limit: self.requests_per_minute,
            remaining: b.requests.max(0.0).floor() as u32,
            reset: refill_requests.max(refill_cost).ceil() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_cost_have_their_budgets_and_refill() {
        let limits = RateLimits::new(3, 100);
        let (alice, bob) = (UserId(uuid::Uuid::now_v7()), UserId(uuid::Uuid::now_v7()));
        let t0 = Instant::now();
        for left in [2, 1, 0] {
            assert!(matches!(limits.check(alice, 1, t0), Verdict::Allowed { remaining, .. } if remaining == left));
        }
        // The fourth request within the minute waits for a token: 20 s at 3 per minute.
        assert_eq!(limits.check(alice, 1, t0), Verdict::Limited { limit: 3, retry_after: 20 });
        // Another user has a budget of their own.
        assert!(matches!(limits.check(bob, 1, t0), Verdict::Allowed { .. }));
        // Twenty seconds later one request is back.
        let later = t0 + Duration::from_secs(20);
        assert!(matches!(limits.check(alice, 1, later), Verdict::Allowed { remaining: 0, .. }));
        // Cost: Bob spends 99 of his 100, then a 10-cost request waits 6 s (100 per minute).
        assert!(matches!(limits.check(bob, 98, t0), Verdict::Allowed { .. }));
        assert_eq!(limits.check(bob, 10, t0), Verdict::Limited { limit: 3, retry_after: 6 });
        // A document costlier than the whole budget is charged the whole budget.
        let big = RateLimits::new(0, 50);
        assert!(matches!(big.check(bob, 1_000, t0), Verdict::Allowed { .. }));
        assert!(matches!(big.check(bob, 1_000, t0), Verdict::Limited { retry_after: 60, .. }));
        assert!(!RateLimits::new(0, 0).enabled());
    }
}
