"""Review pages: owner links (no login) and the portal's campaign pages."""

from django.urls import path

from reviews.views import campaigns, links, mine

app_name = "reviews"

urlpatterns = [
    path("review/<str:token>/", links.LinkView.as_view(), name="link"),
    path("review/<str:token>/<uuid:task>/", links.LinkView.as_view(), name="link_task"),
    path("reviews/", mine.MyReviewsView.as_view(), name="mine"),
    path("reviews/tasks/<uuid:code>/", mine.TaskView.as_view(), name="task"),
    path("reviews/campaigns/", campaigns.CampaignListView.as_view(), name="campaign_list"),
    path("reviews/campaigns/new/", campaigns.CampaignCreateView.as_view(),
         name="campaign_create"),
    path("reviews/campaigns/<uuid:code>/", campaigns.CampaignDetailView.as_view(),
         name="campaign_detail"),
    path("reviews/campaigns/<uuid:code>/tasks/", campaigns.CampaignTasksView.as_view(),
         name="campaign_tasks"),
    path("reviews/campaigns/<uuid:code>/resend/", campaigns.CampaignResendView.as_view(),
         name="campaign_resend"),
    path("reviews/campaigns/<uuid:code>/retry/", campaigns.CampaignRetryView.as_view(),
         name="campaign_retry"),
    path("reviews/campaigns/<uuid:code>/close/", campaigns.CampaignCloseView.as_view(),
         name="campaign_close"),
    path("reviews/remediation/", mine.RemediationListView.as_view(), name="remediation_list"),
    path("reviews/remediation/<uuid:code>/resolve/", mine.RemediationResolveView.as_view(),
         name="remediation_resolve"),
]
