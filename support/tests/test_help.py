"""Help: the seeded FAQ (English and Arabic), search, safe Markdown, admin editing, guides, the tour."""

import pytest

from audit.models import AuditEntry
from conftest import login_client
from support import selectors
from support.models import HelpArticle, OnboardingTour

pytestmark = pytest.mark.django_db


def test_the_faq_is_seeded_in_english_and_arabic_and_searchable(users):
    assert HelpArticle.objects.filter(language="en").count() >= 8
    assert (
        HelpArticle.objects.filter(language="ar").count() == HelpArticle.objects.filter(language="en").count()
    )
    client = login_client(users["operator"])
    html = client.get("/help/?q=approve").content.decode()
    assert "How do I approve or reject a custody?" in html
    assert "How do I open a new custody?" not in html
    arabic = client.get("/help/?lang=ar").content.decode()
    assert "كيف أفتح عهدة جديدة؟" in arabic and 'dir="rtl"' in arabic
    assert "<strong>New custody</strong>" in client.get("/help/").content.decode()


def test_markdown_of_an_answer_cannot_run_script(users):
    client = login_client(users["admin"])
    response = client.post(
        "/help/new/",
        {
            "title": "Printing",
            "body": "Use **Print**.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) <img src=x onerror=alert(3)>",
            "language": "en",
            "slug": "",
            "category": "Misc",
            "position": "5",
            "published": "on",
        },
    )
    assert response.status_code == 302
    article = HelpArticle.objects.get(slug="printing")
    html = login_client(users["viewer"]).get("/help/?q=Printing").content.decode()
    assert "<strong>Print</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:" not in html and "onerror" not in html
    assert AuditEntry.objects.filter(action="help_article.created", object_id=str(article.pk)).exists()


def test_only_admins_edit_answers_and_unpublished_ones_are_hidden(users):
    article = HelpArticle.objects.get(slug="reports", language="en")
    assert login_client(users["manager"]).get(f"/help/{article.pk}/edit/").status_code == 403
    admin = login_client(users["admin"])
    admin.post(
        f"/help/{article.pk}/edit/",
        {"title": article.title, "body": article.body, "language": "en", "slug": "reports", "position": "60"},
    )
    article.refresh_from_db()
    assert not article.published
    assert article.title not in login_client(users["viewer"]).get("/help/").content.decode()
    assert article.title in admin.get("/help/").content.decode()


def test_the_guides_are_linked_from_help(users):
    viewer = login_client(users["viewer"])
    assert "User guide" in viewer.get("/help/").content.decode()
    assert "Creating a custody" in viewer.get("/help/guide/user/").content.decode()
    assert viewer.get("/help/guide/admin/").status_code == 403
    assert "Users" in login_client(users["admin"]).get("/help/guide/admin/").content.decode()
    assert viewer.get("/help/guide/../../etc/").status_code == 404


def test_the_tour_shows_on_first_login_resumes_and_stops_once_done(users, settings):
    settings.CUSTODY_ONBOARDING_TOUR = True
    client = login_client(users["supervisor"])
    html = client.get("/").content.decode()
    assert 'id="tour-data"' in html and "Approvals" in html
    assert client.post("/help/tour/", {"step": "2"}).json() == {"step": 2, "done": False, "skipped": False}
    assert "&quot;step&quot;: 2" in client.get("/").content.decode()
    client.post("/help/tour/", {"step": "6", "done": "1"})
    assert 'id="tour-data"' not in client.get("/").content.decode()
    assert OnboardingTour.objects.get(user=users["supervisor"]).completed_at is not None
    # Another browser, later: still done.
    assert 'id="tour-data"' not in login_client(users["supervisor"]).get("/").content.decode()
    # Skipped by another user, then taken again from Help.
    viewer = login_client(users["viewer"])
    viewer.post("/help/tour/", {"step": "1", "skipped": "1"})
    assert 'id="tour-data"' not in viewer.get("/").content.decode()
    viewer.post("/help/tour/", {"restart": "1"})
    assert 'id="tour-data"' in viewer.get("/").content.decode()
    assert selectors.onboarding_figures() == {
        "active_users": len(users),
        "completed": 1,
        "skipped": 0,
        "started": 1,
    }


def test_every_page_offers_the_shortcuts(users):
    html = login_client(users["operator"]).get("/vehicles/").content.decode()
    assert 'id="shortcuts-help"' in html
    assert 'data-shortcut-new="/custodies/new/"' in html
    assert "custody/shortcuts.js" in html and "custody/tour.js" in html


def test_the_tour_can_be_switched_off_for_the_installation(users):
    assert 'id="tour-data"' not in login_client(users["operator"]).get("/").content.decode()
