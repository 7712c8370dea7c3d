"""Filter types shared by the apps' FilterSets."""

import django_filters
from django import forms


class IdFilter(django_filters.NumberFilter):
    """An object id: an integer, anything else is a 400."""

    field_class = forms.IntegerField
