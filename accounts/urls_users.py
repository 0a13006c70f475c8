from saas.routers import OptionalSlashRouter

from .views import InvitationViewSet, UserViewSet

router = OptionalSlashRouter()
router.register("users", UserViewSet, basename="user")
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = router.urls
