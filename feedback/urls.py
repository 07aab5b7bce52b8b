from django.urls import path

from . import views

urlpatterns = [
    path("s/<str:token>/", views.survey_answer, name="survey-answer"),
    path("inbox/", views.inbox, name="inbox"),
    path("s/<str:token>/opt-out/", views.survey_opt_out, name="survey-opt-out"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/open/", views.case_open, name="case-open"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case-assign"),
    path("cases/<int:pk>/transfer/", views.case_transfer, name="case-transfer"),
    path("cases/<int:pk>/comment/", views.case_comment, name="case-comment"),
    path("cases/<int:pk>/resolve/", views.case_resolve, name="case-resolve"),
    path("cases/answers/", views.response_list, name="responses"),
    path("cases/answers/<int:pk>/reviewed/", views.response_reviewed, name="response-reviewed"),
    path("cases/themes/<int:pk>/", views.theme_detail, name="theme-detail"),
    path("ladder/", views.ladder, name="ladder"),
    path("ladder/<int:pk>/decide/", views.ladder_decide, name="ladder-decide"),
    path("ladder/share-of-wallet/", views.share_of_wallet, name="share-of-wallet"),
]
