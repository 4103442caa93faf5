"""Issue 12: every date field of a form or filter is a native date picker (type=date /
datetime-local), so phones and desktops show their own calendar instead of a free text box."""

import importlib

import pytest
from django import forms
from django.apps import apps

PROJECT_APPS = [config.name for config in apps.get_app_configs() if not config.name.startswith("django.")]


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _project_forms():
    for name in PROJECT_APPS:
        for module in ("forms", "views"):
            try:
                importlib.import_module(f"{name}.{module}")
            except ModuleNotFoundError:
                continue
    found = []
    for form in _subclasses(forms.BaseForm):
        if form.__module__.split(".")[0] not in {n.split(".")[0] for n in PROJECT_APPS}:
            continue
        if ".admin" in form.__module__ or "tests" in form.__module__:
            continue
        found.append(form)
    return sorted(set(found), key=lambda f: f"{f.__module__}.{f.__qualname__}")


def _date_fields(form_class):
    try:
        fields = form_class.base_fields
    except AttributeError:
        return []
    wrong = []
    for name, field in fields.items():
        widget = field.widget
        wanted = (
            "datetime-local"
            if isinstance(field, forms.DateTimeField)
            else "date"
            if isinstance(field, forms.DateField)
            else None
        )
        if wanted and getattr(widget, "input_type", "") != wanted:
            wrong.append(f"{name} ({type(widget).__name__} {getattr(widget, 'input_type', '')})")
    return wrong


@pytest.mark.django_db
def test_every_date_field_is_a_native_picker():
    problems = {}
    for form_class in _project_forms():
        wrong = _date_fields(form_class)
        if wrong:
            problems[f"{form_class.__module__}.{form_class.__qualname__}"] = wrong
    assert not problems, problems


def test_the_forms_were_found():
    names = {f.__qualname__ for f in _project_forms()}
    assert {"CustodyFilterForm", "VehicleForm"} <= names
