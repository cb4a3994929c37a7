app_name='ownership'
urlpatterns = []
