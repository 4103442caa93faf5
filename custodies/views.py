from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def custody_list(request):
    return render(request, "custodies/coming_soon.html")
