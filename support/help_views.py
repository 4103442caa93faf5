"""Help: the FAQ / knowledge base (searchable, English and Arabic, admins edit it), the guides, the tour."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import permissions
from core.errors import DomainError

from . import markdown, services
from .models import HelpArticle


class ArticleForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Question or title"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Answer (Markdown)"), widget=forms.Textarea(attrs={"rows": 10, "dir": "auto"})
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=HelpArticle.Language.choices)
    slug = forms.SlugField(
        label=gettext_lazy("Short name"),
        max_length=80,
        required=False,
        help_text=gettext_lazy("The same short name links the English and Arabic versions."),
    )
    category = forms.CharField(label=gettext_lazy("Topic"), max_length=60, required=False)
    position = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, max_value=1000, initial=100)
    published = forms.BooleanField(label=gettext_lazy("Published"), required=False, initial=True)


def _may_edit(user) -> bool:
    return permissions.may(user, "faq.edit")


def _language(request) -> str:
    lang = request.GET.get("lang") or (get_language() or "en")[:2]
    return lang if lang in HelpArticle.Language.values else "en"


@login_required
def help_index(request):
    language = _language(request)
    q = request.GET.get("q", "").strip()
    qs = HelpArticle.objects.filter(language=language)
    if not _may_edit(request.user):
        qs = qs.filter(published=True)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(body__icontains=q) | Q(category__icontains=q))
    articles = [
        (a, markdown.render(a.body)) for a in qs.only("id", "slug", "title", "body", "category", "published")
    ]
    return render(
        request,
        "support/help.html",
        {"articles": articles, "q": q, "language": language, "may_edit": _may_edit(request.user)},
    )


def _edit(request, article=None):
    if not _may_edit(request.user):
        raise PermissionDenied
    initial = {"language": _language(request)}
    if article is not None:
        initial = {
            f: getattr(article, f)
            for f in ("title", "body", "language", "slug", "category", "position", "published")
        }
    form = ArticleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_help_article(request.user, article, **form.cleaned_data)
        except DomainError as exc:
            for message in exc.messages():
                form.add_error(None, message)
        else:
            messages.success(request, _("The answer is saved."))
            return redirect(f"{redirect('help:index').url}?lang={saved.language}#{saved.slug}")
    preview = markdown.render(form["body"].value() or "") if request.method == "POST" else ""
    return render(request, "support/help_edit.html", {"form": form, "article": article, "preview": preview})


@login_required
def help_new(request):
    return _edit(request)


@login_required
def help_edit(request, article_id):
    return _edit(request, get_object_or_404(HelpArticle, pk=article_id))


@login_required
@require_POST
def help_delete(request, article_id):
    article = get_object_or_404(HelpArticle, pk=article_id)
    services.delete_help_article(request.user, article)
    messages.success(request, _("The answer is deleted."))
    return redirect("help:index")


GUIDES = {"user": "user-guide.md", "admin": "admin-guide.md"}


@login_required
def guide(request, name):
    """docs/user-guide.md and docs/admin-guide.md, rendered in the app (the admin guide for admins)."""
    from django.conf import settings

    if name not in GUIDES:
        raise Http404
    if name == "admin" and not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied
    path = settings.BASE_DIR / "docs" / GUIDES[name]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Http404 from exc
    return render(request, "support/guide.html", {"html": markdown.render(text), "name": name})


@login_required
@require_POST
def tour_progress(request):
    """The tour's script reports each step, the end or a skip; `restart` starts it again."""
    try:
        step = int(request.POST.get("step", 0))
    except ValueError:
        return HttpResponse(status=400)
    tour = services.record_tour(
        request.user,
        step=step,
        done=request.POST.get("done") == "1",
        skipped=request.POST.get("skipped") == "1",
        restart=request.POST.get("restart") == "1",
    )
    request.session["tour_state"] = "over" if tour.completed_at or tour.skipped_at else {"step": tour.step}
    if request.POST.get("restart") == "1" and not request.headers.get("X-Requested-With"):
        return redirect("dashboard")
    return JsonResponse(
        {"step": tour.step, "done": tour.completed_at is not None, "skipped": tour.skipped_at is not None}
    )
