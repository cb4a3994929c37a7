"""Risk pages: dashboard, findings and their decisions, rules, policy, alerts, leak import."""

from django.urls import path

from inventory.risk import views, views_alerts, views_dashboard, views_policy

app_name = "risk"

urlpatterns = [
    path("dashboard/", views_dashboard.DashboardView.as_view(), name="dashboard"),
    path("findings/", views.FindingListView.as_view(), name="finding_list"),
    path("findings/<uuid:code>/accept/", views.FindingActionView.as_view(action="accept"),
         name="finding_accept"),
    path("findings/<uuid:code>/resolve/", views.FindingActionView.as_view(action="resolve"),
         name="finding_resolve"),
    path("findings/<uuid:code>/reopen/", views.FindingActionView.as_view(action="reopen"),
         name="finding_reopen"),
    path("findings/evaluate/", views.EvaluateNowView.as_view(), name="evaluate"),
    path("risk/rules/", views.RuleListView.as_view(), name="rule_list"),
    path("risk/policy/", views_policy.PolicyView.as_view(), name="policy"),
    path("risk/policy/v<int:number>/", views_policy.PolicyView.as_view(), name="policy_version"),
    path("risk/policy/edit/", views_policy.PolicyEditView.as_view(), name="policy_edit"),
    path("risk/alerts/", views_alerts.AlertListView.as_view(), name="alert_list"),
    path("risk/alerts/retry/", views_alerts.AlertRetryView.as_view(), name="alert_retry"),
    path("risk/leaks/", views_alerts.LeakImportView.as_view(), name="leak_import"),
]
