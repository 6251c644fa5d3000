"""Survey silence: the client used to answer NPS/CSAT surveys and has stopped.

A customer who no longer bothers to say what they think is often already looking elsewhere.
The rule fires when the account answered at least `min_earlier` surveys in the year before
the silent window and none in the last `days` days.

Built with componentize-py (see build.sh); the same contract as the Rust rules.
"""

from componentize_py_types import Err
from wit_world import WitWorld as Rule
from wit_world.imports import types as t

DAY = 86_400_000_000


def number_param(params, key, default):
    for p in params:
        if p.key == key and isinstance(p.value, t.ParamValue_Number):
            return p.value.value
    return default


class WitWorld(Rule):
    def metadata(self) -> t.Metadata:
        return t.Metadata(
            key="survey_silence",
            name="Survey silence",
            category=t.Category.RELATIONSHIP,
            description="The account answered surveys before and has answered none for a while.",
            inputs=[t.Input.SURVEYS],
            metrics=[],
            lookback_days=550,
            params=[
                t.ParamSpec(
                    key="days",
                    description="Days without a survey response",
                    kind=t.ParamKind_Number(t.NumberRange(min=30.0, max=365.0, integer=True)),
                    default=t.ParamValue_Number(120.0),
                ),
                t.ParamSpec(
                    key="min_earlier",
                    description="Responses in the year before that make the silence unusual",
                    kind=t.ParamKind_Number(t.NumberRange(min=1.0, max=50.0, integer=True)),
                    default=t.ParamValue_Number(2.0),
                ),
            ],
            auto_resolve=True,
        )

    def evaluate(self, snapshot: t.Snapshot, params) -> t.Evaluation:
        days = number_param(params, "days", 120.0)
        min_earlier = number_param(params, "min_earlier", 2.0)
        if days <= 0:
            raise Err(t.RuleError_InvalidInput("days must be positive"))
        split = snapshot.as_of - int(days) * DAY
        recent = [s for s in snapshot.surveys if split < s.responded_at <= snapshot.as_of]
        earlier = [s for s in snapshot.surveys if split - 365 * DAY < s.responded_at <= split]
        observations = [
            t.Evidence(name="responses_recent", number=float(len(recent)), text=None),
            t.Evidence(name="responses_year_before", number=float(len(earlier)), text=None),
        ]
        if recent or len(earlier) < min_earlier:
            return t.Evaluation(findings=[], observations=observations)
        last = max(s.responded_at for s in earlier)
        silent_days = (snapshot.as_of - last) // DAY
        return t.Evaluation(
            findings=[
                t.Finding(
                    key="silence",
                    category=t.Category.RELATIONSHIP,
                    title=f"No survey answer for {silent_days} days",
                    detail=(
                        f"{snapshot.account.name} answered {len(earlier)} surveys in the year before "
                        f"and none in the last {int(days)} days."
                    ),
                    impact=3,
                    likelihood=3 if silent_days < 2 * days else 4,
                    evidence=observations
                    + [t.Evidence(name="days_since_last_response", number=float(silent_days), text=None)],
                    suggested_playbook="proactive_check_in",
                )
            ],
            observations=observations,
        )
