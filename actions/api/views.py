from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts.scope import ScopedViewSetMixin

from .. import services
from ..filtersets import ActionFilter
from ..models import Action
from .serializers import ActionPromoteSerializer, ActionSerializer, ActionUpdateSerializer


class ActionViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Remediation actions in the caller's scope; PATCH owner, due date or status; POST promotes a failing check."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    queryset = Action.objects.for_lists().order_by("due_on", "pk")

    @extend_schema(request=ActionPromoteSerializer, responses={201: ActionSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        serializer = ActionPromoteSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        opened = services.action_promote_check(actor=request.user, run=data["check_run"], owner_id=data.get("owner"),
                                               due_on=data.get("due_on"))
        return Response(ActionSerializer(opened, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ActionUpdateSerializer, responses=ActionSerializer)
    def partial_update(self, request, *args, **kwargs):
        action = self.get_object()
        serializer = ActionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = services.action_update(actor=request.user, action=action, **serializer.validated_data)
        return Response(ActionSerializer(Action.objects.for_lists().get(pk=action.pk)).data)
