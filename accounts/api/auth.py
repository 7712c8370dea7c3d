"""`auth/token/` and `auth/mfa/…`: API sign-in with a password and, where required, a TOTP code."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import audit_alone
from mlsec_portal.throttling import ScopedRateThrottle

from ..authentication import credential_verified
from ..mfa import must_enrol, totp_confirm, totp_secret, totp_start
from ..models import APIToken
from ..signin import SignInRefused, sign_in_verify
from ..tokens import token_issue, token_revoke, tokens_revoke_all


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(max_length=24, required=False, allow_blank=True)


TokenResponse = inline_serializer("TokenResponse", {
    "token": serializers.CharField(), "expiry": serializers.DateTimeField(),
    "mfa_enrollment_required": serializers.BooleanField(required=False),
})
RefusedResponse = inline_serializer("SignInRefused", {
    # A refused sign-in says only `detail` (the same for a wrong password and a wrong code); a body
    # missing a field or with one of the wrong type names the fields instead, as every 400 of the API does.
    "detail": serializers.CharField(required=False),
    "username": serializers.ListField(child=serializers.CharField(), required=False),
    "password": serializers.ListField(child=serializers.CharField(), required=False),
    "otp": serializers.ListField(child=serializers.CharField(), required=False),
    "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
})


class ObtainTokenView(APIView):
    """POST: exchange credentials (and the one-time code once enrolled) for a token.
    DELETE: revoke the token that calls it, or with `?all=1` every token of the caller."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def initialize_request(self, request, *args, **kwargs):
        # Signing in takes credentials from the body only: an Authorization header or a session
        # cookie on the request is ignored (so neither a stale token nor CSRF gets in the way).
        self._signing_in = request.method == "POST"
        return super().initialize_request(request, *args, **kwargs)

    def get_authenticators(self):
        return [] if getattr(self, "_signing_in", False) else super().get_authenticators()

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=TokenRequestSerializer, auth=[],
                   responses={200: TokenResponse, 400: OpenApiResponse(RefusedResponse, description=(
                       "Refused: the same answer for a wrong password and for a missing or wrong one-time code."))})
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            signed_in = sign_in_verify(request=request._request, username=data["username"], password=data["password"],
                                       otp=data.get("otp", ""))
        except SignInRefused as refused:
            return Response({"detail": refused.message}, status=status.HTTP_400_BAD_REQUEST)
        user = signed_in.user
        token, key = token_issue(user=user, mfa_verified=signed_in.mfa_verified)
        # As a session sign-in does: django-axes resets the failures, Django records last_login.
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        audit_alone(actor=user, action="auth.login", obj=user,
                    extra={"channel": "api", "mfa": signed_in.mfa_verified})
        body = {"token": key, "expiry": token.expiry}
        if must_enrol(user):
            body["mfa_enrollment_required"] = True
        return Response(body)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("all", bool, description="`1`: revoke every token of the caller, not only this one.")],
        responses={204: OpenApiResponse(description="Revoked."),
                   400: OpenApiResponse(description="`all` is not 0 or 1, or a session asked to revoke its own token."),
                   401: OpenApiResponse(description="No valid token (already revoked or expired).")},
    )
    def delete(self, request):
        every = request.query_params.get("all", "0")
        if every not in {"0", "1", "true", "false"}:
            return Response({"all": ["Use 1 to revoke every token, or leave it out."]}, status=status.HTTP_400_BAD_REQUEST)
        if every in {"1", "true"}:
            tokens_revoke_all(actor=request.user, user=request.user, reason="revoked by their holder")
        elif isinstance(request.auth, APIToken):
            token_revoke(actor=request.user, token=request.auth)
        else:
            return Response({"detail": "This request carries no token: use ?all=1 to revoke all of yours."},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpStartView(APIView):
    """Start TOTP enrolment: returns the secret and the otpauth:// URL for an authenticator app.

    Replacing an existing authenticator needs a token issued against its code (or a recovery code)."""

    mfa_enrollment_view = True

    @extend_schema(request=None, responses={200: inline_serializer("TotpStart", {
        "secret": serializers.CharField(), "otpauth_url": serializers.CharField()})})
    def post(self, request):
        device = totp_start(user=request.user, verified=credential_verified(request))
        return Response({"secret": totp_secret(device), "otpauth_url": device.config_url})


class TotpConfirmView(APIView):
    """Activate the pending device with a current code; returns one-time recovery codes (shown once).

    Confirming revokes every token of the user, this one included: sign in again (with the code) for a
    full token."""

    mfa_enrollment_view = True

    @extend_schema(request=inline_serializer("TotpConfirm", {"otp": serializers.CharField()}),
                   responses={200: inline_serializer("TotpConfirmed", {
                       "confirmed": serializers.BooleanField(),
                       "recovery_codes": serializers.ListField(child=serializers.CharField()),
                       "token_revoked": serializers.BooleanField()})})
    def post(self, request):
        code = request.data.get("otp") if isinstance(request.data, dict) else None
        if not isinstance(code, str) or not code.strip():
            return Response({"otp": ["This field is required."]}, status=status.HTTP_400_BAD_REQUEST)
        codes = totp_confirm(user=request.user, code=code, verified=credential_verified(request))
        if codes is None:
            return Response({"otp": ["This code is not valid, or no enrolment was started."]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"confirmed": True, "recovery_codes": codes, "token_revoked": isinstance(request.auth, APIToken)})
