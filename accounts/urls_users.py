from saas.routers import OptionalSlashRouter

from .views import UserViewSet

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = router.urls
