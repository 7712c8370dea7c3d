"""Signals of the evidence app, for the apps built on it (which evidence does not import).

`links_carried(sender=EvidenceLink, project_ids=[...])` is sent by `sharing.carry_links` inside its transaction,
after it moved the open links of a shared evidence item to its new version with `update()` and `bulk_create()`,
which send no model signal: scoring refreshes the rollup of those projects.
"""

from django.dispatch import Signal

links_carried = Signal()
