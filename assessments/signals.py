"""Signals of the assessments app, for the apps built on it (which assessments does not import).

Each is sent by `services` inside the transaction of its change; a receiver that raises undoes the change.

- `check_targets_changed(sender=Project, project=...)`: a project was created with, or changed, its
  `check_targets`; sources mirrors them into the project's sources.
- `assessment_counted(sender=Assessment, actor=..., assessment=...)`: an approval that counts (not an older
  cycle signed off for the record); actions opens and closes the follow-up actions.
- `risk_accepted(sender=RiskAcceptance, actor=..., acceptance=...)`: a risk acceptance was approved; actions
  closes the project × practice's open actions as accepted risk.
"""

from django.dispatch import Signal

check_targets_changed = Signal()
assessment_counted = Signal()
risk_accepted = Signal()
