"""`auth/token/` and `auth/mfa/…`: API sign-in with a password and, where required, a TOTP code."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from audit.services import audit_record

from ..mfa import has_confirmed_device, must_enrol, totp_confirm, totp_secret, totp_start, verify_code


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(max_length=24, required=False, allow_blank=True)


TokenResponse = inline_serializer("TokenResponse", {
    "token": serializers.CharField(), "mfa_enrollment_required": serializers.BooleanField(required=False),
})


class ObtainTokenView(APIView):
    """Exchange credentials (and a TOTP code once enrolled) for an API token."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponse})
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # authenticate() with the request lets django-axes count failures and lock the account.
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None:
            return Response({"detail": "Unable to sign in with these credentials."}, status=status.HTTP_400_BAD_REQUEST)
        if has_confirmed_device(user):
            if not data.get("otp"):
                return Response({"otp": ["A one-time code from your authenticator is required."]},
                                status=status.HTTP_400_BAD_REQUEST)
            if verify_code(user, data["otp"]) is None:
                audit_record(actor=user, action="auth.otp_failed", object_type="accounts.user",
                             object_id=str(user.pk), object_repr=user.get_username())
                return Response({"otp": ["This code is not valid."]}, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=user)
        body = {"token": token.key}
        if must_enrol(user):
            body["mfa_enrollment_required"] = True
        return Response(body)


class TotpStartView(APIView):
    """Start TOTP enrolment: returns the secret and the otpauth:// URL for an authenticator app."""

    mfa_enrollment_view = True

    @extend_schema(request=None, responses={200: inline_serializer("TotpStart", {
        "secret": serializers.CharField(), "otpauth_url": serializers.CharField()})})
    def post(self, request):
        device = totp_start(user=request.user)
        return Response({"secret": totp_secret(device), "otpauth_url": device.config_url})


class TotpConfirmView(APIView):
    """Activate the pending device with a current code; returns one-time recovery codes (shown once)."""

    mfa_enrollment_view = True

    @extend_schema(request=inline_serializer("TotpConfirm", {"otp": serializers.CharField()}),
                   responses={200: inline_serializer("TotpConfirmed", {
                       "confirmed": serializers.BooleanField(),
                       "recovery_codes": serializers.ListField(child=serializers.CharField())})})
    def post(self, request):
        code = request.data.get("otp") if isinstance(request.data, dict) else None
        if not isinstance(code, str) or not code.strip():
            return Response({"otp": ["This field is required."]}, status=status.HTTP_400_BAD_REQUEST)
        codes = totp_confirm(user=request.user, code=code)
        if codes is None:
            return Response({"otp": ["This code is not valid, or no enrolment was started."]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"confirmed": True, "recovery_codes": codes})
