"""scim2-server's storage over the portal's database.

scim2-server runs the protocol (routing, filters, sorting, PATCH, ETags, errors, discovery); its
in-memory storage does the searching. This storage keeps every SCIM resource in `ScimResource` rows
and loads them into that in-memory index at each call, so every process serves the same data, then
writes each change back and applies it to the portal: a User resource is a portal user (created,
updated, deactivated), Group memberships go through the group rules (identity/rules.py). A `password`
sent by the provider is never stored: provisioned people sign in through single sign-on.

Loading every resource at each call is linear in the number of people; thousands are fine.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from scim2_models import Resource, ResourceType, UniquenessException
from scim2_server.memory import InMemoryStorage

from identity.models import ScimResource

from . import sync


class PortalScimStorage(InMemoryStorage):
    def __init__(self, provider) -> None:
        super().__init__()
        self.provider = provider
        self.actor_label = ""

    def next_version(self) -> str:
        return f'W/"{uuid.uuid4().hex[:16]}"'  # unique across processes (the counter is per process)

    def _reload(self) -> None:
        resources = []
        for row in ScimResource.objects.order_by("pk"):
            model = self.provider.model_for(row.resource_type)
            if model is not None:
                resources.append(model.model_validate(row.data))
        self.resources = resources

    @contextmanager
    def operation(self):
        with self.lock, transaction.atomic():
            self._reload()
            yield

    def get(self, resource_type, resource_id, *, response_parameters=None):
        with self.lock:
            self._reload()
            return super().get(resource_type, resource_id, response_parameters=response_parameters)

    def search(self, resource_types, search_request, *, position: Any = None):
        with self.lock:
            self._reload()
            return super().search(resource_types, search_request, position=position)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.lock, transaction.atomic():
            self._reload()
            stored = super().create(resource_type, resource)
            self._persist(resource_type, stored, before=None, created=True)
            return stored

    def update(self, resource_type, resource, *, expected_version=None):
        with self.lock, transaction.atomic():
            self._reload()
            before = ScimResource.objects.select_for_update().filter(scim_id=resource.id).first()
            stored = super().update(resource_type, resource, expected_version=expected_version)
            self._persist(resource_type, stored, before=before.data if before else None, created=False)
            return stored

    def delete(self, resource_type, resource_id, *, expected_version=None) -> None:
        with self.lock, transaction.atomic():
            self._reload()
            super().delete(resource_type, resource_id, expected_version=expected_version)
            row = ScimResource.objects.select_for_update().filter(scim_id=resource_id).first()
            if row is None:
                return
            if row.resource_type == "User":
                sync.user_deleted(row, actor_label=self.actor_label)
            else:
                sync.group_changed(before=row.data, after=None, actor_label=self.actor_label)
            row.delete()

    def _persist(self, resource_type, stored: Resource[Any], *, before: dict | None, created: bool) -> None:
        data = stored.model_dump(mode="json")
        data.pop("password", None)
        row, _ = ScimResource.objects.update_or_create(
            scim_id=stored.id, defaults={"resource_type": resource_type.name, "data": data})
        if resource_type.name == "User":
            try:
                sync.user_written(row, created=created, actor_label=self.actor_label)
            except sync.Conflict as exc:
                raise UniquenessException(detail=str(exc)) from None
        else:
            sync.group_changed(before=before, after=data, actor_label=self.actor_label)
