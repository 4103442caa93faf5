"""custodies.display: the list's fast date formatting and SLA words give what Django's own would."""

import datetime
import zoneinfo

import pytest
from django.utils import dateformat, timezone, translation

from custodies import display
from custodies.sla import SlaView

MOMENTS = [
    datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 31, 21, 59, 59, tzinfo=datetime.UTC),  # next day in Dubai
    datetime.datetime(2024, 2, 29, 12, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
]


@pytest.mark.parametrize("fmt", ["d/m/Y H:i", "d/m/Y", "j.n.y G:i:s", "Y-m-d\\TH:i", "d M Y", "100% d"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Dubai", "America/New_York"])
def test_date_formatter_writes_what_djangos_dateformat_writes(fmt, zone):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        fast = display.date_formatter(fmt)
        for moment in MOMENTS:
            assert fast(moment) == dateformat.format(timezone.localtime(moment), fmt)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_sla_badges_say_what_the_words_translate_to(language):
    due = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC)
    with translation.override(language):
        left = display.sla_badge(SlaView(target="close", state="on_track", due_at=due, seconds_left=93784))
        late = display.sla_badge(SlaView(target="approve", state="breached", due_at=due, seconds_left=-600))
        met = display.sla_badge(SlaView(target="handover", state="met", due_at=due, seconds_left=None))
        assert left["text"] == translation.gettext("%(time)s left") % {
            "time": translation.gettext("%(d)s d %(h)s h") % {"d": 1, "h": 2}
        }
        assert late["text"] == translation.gettext("breached %(time)s ago") % {
            "time": translation.gettext("%(m)s m") % {"m": 10}
        }
        assert met["text"] == translation.gettext("met")
        assert left["label"] == str(display.SlaState("on_track").label)
        assert late["target_label"] == str(display.SlaTarget("approve").label)
        assert (left["colour"], late["colour"], met["colour"]) == ("success", "danger", "secondary")
