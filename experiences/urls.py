from django.urls import path

from . import views

urlpatterns = [
    path("log/", views.log_experience, name="log-experience"),
    path("log/customers/", views.customer_search, name="customer-search"),
    path("log/recorded/<int:pk>/score/", views.recorded_score, name="recorded-score"),
    path("log/mine/", views.my_log, name="my-log"),
    path("log/mine/<int:pk>/correct/", views.correct, name="experience-correct"),
    path("log/mine/<int:pk>/void/", views.void, name="experience-void"),
]
