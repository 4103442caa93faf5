"""The Python-rendered widgets (core.widgets) give exactly Django's markup."""

import datetime
import re

import pytest
from django import forms

from core.widgets import FastDateInput, FastSelect, FastTextInput

CHOICES = [("", "Any"), ("a", "A & B"), ("b", '"Quoted"'), (3, "Three"), ("a", "A again")]


@pytest.mark.parametrize("value", [None, "", "a", "b", 3, "3", "missing", ["b"]])
@pytest.mark.parametrize(
    "attrs", [None, {"class": "form-select is-invalid", "id": "id_x"}, {"disabled": True}]
)
def test_the_fast_select_renders_djangos_select(value, attrs):
    fast = FastSelect(choices=CHOICES).render("x", value, attrs)
    assert fast == _tight(forms.Select(choices=CHOICES).render("x", value, attrs))  # but the blank lines


def _tight(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


@pytest.mark.parametrize("value", [None, "", "DXB-A-1", "<b>&\"'", 42])
@pytest.mark.parametrize(
    "attrs",
    [
        None,
        {"class": "form-control", "id": "id_p"},
        {"required": True, "hidden": False, "placeholder": "a<b"},
    ],
)
def test_the_fast_text_input_renders_djangos_text_input(value, attrs):
    assert FastTextInput().render("plate", value, attrs) == forms.TextInput().render("plate", value, attrs)


@pytest.mark.parametrize("value", [None, "", "2026-01-31", "not a date", datetime.date(2026, 2, 3)])
def test_the_fast_date_input_renders_djangos_date_input(value):
    attrs = {"class": "form-control form-control-sm", "id": "id_date_from"}
    fast = FastDateInput(attrs={"type": "date"}).render("date_from", value, attrs)
    assert fast == forms.DateInput(attrs={"type": "date"}).render("date_from", value, attrs)
    assert 'type="date"' in fast


@pytest.mark.parametrize("value", [None, "", "a", "b", "3", "missing"])
def test_kept_options_mark_each_pages_own_selection(value):
    kept = FastSelect(choices=CHOICES, options_key="test:kept")
    kept.render("x", "b", None)  # kept with another selection first
    assert kept.render("x", value, None) == _tight(forms.Select(choices=CHOICES).render("x", value, None))


def test_kept_options_are_kept_per_language():
    from django.utils import translation
    from django.utils.translation import gettext_lazy

    choices = [("", gettext_lazy("Any reason")), ("accident", gettext_lazy("Accident"))]
    widget = FastSelect(choices=choices, options_key="test:per-language")
    english = widget.render("reason_code", "accident")
    with translation.override("ar"):
        arabic = widget.render("reason_code", "accident")
    assert ">Accident</option>" in english and ">Accident</option>" not in arabic
    assert '<option value="accident" selected>' in arabic


def test_flat_choices_validate_and_render_like_a_list():
    from core.widgets import FlatChoices

    pairs = [("", "Any"), ("7", "Seven & co")]
    plain = forms.ChoiceField(choices=pairs, required=False, widget=FastSelect)
    flat = forms.ChoiceField(required=False, widget=FastSelect)
    flat.choices = FlatChoices(pairs)
    assert flat.clean("7") == plain.clean("7") == "7"
    with pytest.raises(forms.ValidationError):
        flat.clean("8")
    assert flat.widget.render("c", "7") == plain.widget.render("c", "7")
    assert list(flat.choices) == pairs
