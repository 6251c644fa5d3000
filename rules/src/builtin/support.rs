//! Support: a surge of critical tickets, and critical tickets left unresolved too long.

use bellwether_domain::RiskCategory;
use bellwether_domain::health::facts::ticket_facts;

use super::{EPSILON, pct, playbooks};
use crate::{
    AccountSnapshot, Evaluation, Evidence, Finding, Input, ParamSpec, Params, Rule, RuleError, RuleMeta, tier_impact,
};

pub struct CriticalTicketSurge(RuleMeta);

impl CriticalTicketSurge {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "critical_ticket_surge".into(),
            name: "Critical-ticket surge".into(),
            category: RiskCategory::Operational,
            description: "Critical tickets opened in the last 7 days are up by at least `increase` on the 7 days \
                          before (or appear from none), with at least `min_tickets` this week."
                .into(),
            inputs: vec![Input::Tickets],
            lookback_days: 14,
            params: vec![
                ParamSpec::number(
                    "increase",
                    "Relative week-over-week increase that fires (0.2 = 20%).",
                    0.2,
                    0.01,
                    10.0,
                ),
                ParamSpec::number("min_tickets", "Critical tickets this week needed at all.", 2.0, 1.0, 1000.0),
            ],
            auto_resolve: true,
        })
    }
}

impl Rule for CriticalTicketSurge {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let t = ticket_facts(&s.signals.tickets, s.as_of);
        let observations = vec![
            Evidence::number("criticalLast7Days", t.critical_last_7d as f64),
            Evidence::number("criticalPrevious7Days", t.critical_prev_7d as f64),
        ];
        let mut e = Evaluation { findings: Vec::new(), observations: observations.clone() };
        let enough = t.critical_last_7d as f64 >= p.number("min_tickets");
        let surge = match t.critical_change {
            Some(c) => c >= p.number("increase") - EPSILON,
            None => t.critical_last_7d > 0, // from none at all
        };
        if enough && surge {
            let mut evidence = observations;
            if let Some(c) = t.critical_change {
                evidence.push(Evidence::number("change", c));
            }
            e.findings.push(Finding {
                key: "critical".into(),
                category: RiskCategory::Operational,
                title: format!("{} critical tickets this week", t.critical_last_7d),
                detail: match t.critical_change {
                    Some(c) => format!(
                        "{} critical tickets in the last 7 days against {} the week before ({} more; threshold {}).",
                        t.critical_last_7d,
                        t.critical_prev_7d,
                        pct(c),
                        pct(p.number("increase"))
                    ),
                    None => {
                        format!("{} critical tickets in the last 7 days, none the week before.", t.critical_last_7d)
                    }
                },
                impact: tier_impact(s.account.tier),
                likelihood: if t.critical_change.is_none_or(|c| c >= 1.0) { 4 } else { 3 },
                evidence,
                suggested_playbook: Some(playbooks::SUPPORT_ESCALATION.into()),
            });
        }
        Ok(e)
    }
}

pub struct CriticalTicketsUnresolved(RuleMeta);

impl CriticalTicketsUnresolved {
    pub fn new() -> Self {
        Self(RuleMeta {
            key: "critical_tickets_unresolved".into(),
            name: "Critical tickets unresolved".into(),
            category: RiskCategory::Operational,
            description: "A critical ticket has been open for at least `days` days.".into(),
            inputs: vec![Input::Tickets],
            lookback_days: 400,
            params: vec![ParamSpec::days("days", "Age in days at which an open critical ticket fires.", 7, 365)],
            auto_resolve: true,
        })
    }
}

impl Rule for CriticalTicketsUnresolved {
    fn meta(&self) -> &RuleMeta {
        &self.0
    }

    fn evaluate(&self, s: &AccountSnapshot, p: &Params) -> Result<Evaluation, RuleError> {
        let days = p.days("days");
        let aged: Vec<_> = s
            .signals
            .tickets
            .iter()
            .filter(|t| t.priority == bellwether_domain::TicketPriority::Critical)
            .filter(|t| t.opened_at <= s.as_of && t.resolved_at.is_none_or(|r| r > s.as_of))
            .filter(|t| (s.as_of - t.opened_at).num_days() >= days)
            .collect();
        let oldest = aged.iter().map(|t| (s.as_of - t.opened_at).num_days()).max();
        let observations = vec![Evidence::number("agedCriticalTickets", aged.len() as f64)];
        let mut e = Evaluation { findings: Vec::new(), observations: observations.clone() };
        if let Some(oldest) = oldest {
            let mut evidence = observations;
            evidence.push(Evidence::number("oldestDays", oldest as f64));
            evidence.extend(aged.iter().take(10).map(|t| Evidence::text("ticket", t.external_id.clone())));
            e.findings.push(Finding {
                key: "aged".into(),
                category: RiskCategory::Operational,
                title: format!("{} critical ticket(s) open for {days}+ days", aged.len()),
                detail: format!(
                    "{} critical ticket(s) unresolved for at least {days} days; the oldest has been open {oldest} days.",
                    aged.len()
                ),
                impact: tier_impact(s.account.tier),
                likelihood: if oldest >= 4 * days { 4 } else { 3 },
                evidence,
                suggested_playbook: Some(playbooks::SUPPORT_ESCALATION.into()),
            });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use bellwether_domain::signals::tickets::Ticket;
    use bellwether_domain::{AccountId, OrganisationId, TicketId, TicketPriority, TicketStatus};

    use super::super::testkit::*;
    use super::*;

    fn ticket(priority: TicketPriority, opened_days_ago: f64, resolved_days_ago: Option<f64>) -> Ticket {
        let t = |d: f64| now() - chrono::Duration::minutes((d * 1440.0) as i64);
        Ticket {
            id: TicketId::generate(),
            organisation: OrganisationId::generate(),
            account: AccountId::generate(),
            external_id: format!("T-{opened_days_ago}"),
            subject: None,
            priority,
            status: if resolved_days_ago.is_some() { TicketStatus::Resolved } else { TicketStatus::Open },
            opened_at: t(opened_days_ago),
            first_response_at: None,
            resolved_at: resolved_days_ago.map(t),
            version: 1,
            created_at: t(opened_days_ago),
            updated_at: t(opened_days_ago),
        }
    }

    fn critical(last_week: usize, week_before: usize) -> Vec<Ticket> {
        let mut v: Vec<Ticket> =
            (0..last_week).map(|i| ticket(TicketPriority::Critical, 1.0 + i as f64 * 0.1, Some(0.5))).collect();
        v.extend((0..week_before).map(|i| ticket(TicketPriority::Critical, 8.0 + i as f64 * 0.1, Some(7.5))));
        v
    }

    #[test]
    fn surge_fires_at_twenty_percent_week_over_week() {
        let rule = CriticalTicketSurge::new();
        let p = Params::defaults(rule.meta());
        // (this week, week before, fires)
        let cases = [
            (6, 5, true),    // +20%: exactly at the threshold
            (5, 5, false),   // flat
            (11, 10, false), // +10%
            (2, 0, true),    // from none, at the minimum count
            (1, 0, false),   // a single ticket is not a surge
            (0, 0, false),   // no tickets at all
            (1, 5, false),   // falling
        ];
        for (i, (last, prev, fires)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.tickets = critical(last, prev);
            s.signals.tickets.push(ticket(TicketPriority::High, 1.0, None)); // not critical: ignored
            let e = rule.evaluate(&s, &p).unwrap();
            assert_eq!(!e.findings.is_empty(), fires, "case {i}");
        }
    }

    #[test]
    fn unresolved_fires_for_open_critical_tickets_past_the_age() {
        let rule = CriticalTicketsUnresolved::new();
        let p = Params::defaults(rule.meta());
        // (tickets, expected count of aged tickets; None = silent)
        let cases: Vec<(Vec<Ticket>, Option<f64>)> = vec![
            (vec![ticket(TicketPriority::Critical, 7.0, None)], Some(1.0)), // exactly 7 days
            (vec![ticket(TicketPriority::Critical, 6.9, None)], None),
            (vec![ticket(TicketPriority::Critical, 20.0, Some(1.0))], None), // resolved
            (vec![ticket(TicketPriority::High, 20.0, None)], None),          // not critical
            (
                vec![ticket(TicketPriority::Critical, 9.0, None), ticket(TicketPriority::Critical, 30.0, None)],
                Some(2.0),
            ),
            (vec![], None),
        ];
        for (i, (tickets, expected)) in cases.into_iter().enumerate() {
            let mut s = account();
            s.signals.tickets = tickets;
            let e = rule.evaluate(&s, &p).unwrap();
            let got =
                e.findings.first().and_then(|f| f.evidence.iter().find(|e| e.name == "agedCriticalTickets")?.number);
            assert_eq!(got, expected, "case {i}");
        }
    }
}
