from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


def signup(request):
    return HttpResponse("todo")


@login_required
def branches(request):
    return HttpResponse("todo")
