from .views import urlpatterns_for_all

app_name = "fleet"
urlpatterns = urlpatterns_for_all()
