from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from core import requestid


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    """A plain page (no base layout: the error may come from it) with the id to quote to support."""
    template = loader.get_template("500.html")
    rid = getattr(request, "request_id", "") or requestid.current()
    return HttpResponseServerError(template.render({"request_id": rid}))
