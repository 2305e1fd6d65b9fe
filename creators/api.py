"""API views for accounts and people: tokens, your profile, creators, follows, mutes and blocks.

Thin over creators/services.py (writes) and creators/selectors.py (reads of profiles and lists).
A creator's posts and calls are in feed/api.py, their performance in markets/api.py.
"""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate, user_logged_in, user_logged_out
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from orbit.api import (
    USERNAME,
    ErrorSerializer,
    OrbitAPIView,
    PageQuerySerializer,
    error_response,
    error_responses,
    page_query,
    valid,
)
from orbit.fingerprints import app_fingerprint, issue_device
from orbit.parsers import BoundedJSONParser
from orbit.security import audit
from orbit.throttles import AddressThrottle

from . import privacy, selectors, services, tokens
from .models import ApiToken
from .serializers import (
    AccountDeleteSerializer,
    ApiTokenSerializer,
    BlockStateSerializer,
    DeviceSerializer,
    FollowStateSerializer,
    MeSerializer,
    MeUpdateMultipartSerializer,
    MeUpdateSerializer,
    MuteStateSerializer,
    ProfileSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserPageSerializer,
)

# --- Tokens -------------------------------------------------------------------------------


class TokenView(OrbitAPIView):
    # Log in for API clients: a username and password (and the authenticator code, when the
    # account has one) give a new token for the Authorization header.

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        summary="Log in: get an API token",
        description=(
            "Send the token as `Authorization: Token <token>`. Each login issues a new token, listed "
            "at `GET /auth/tokens/`; it works until it expires (`expires_at`), is revoked, or the "
            "account's password or two-factor setup changes. Accounts with an authenticator app must "
            "send its current code (or a recovery code) as `code`; staff accounts without one get no "
            "token (403). Failed attempts, wrong codes included, count towards the same lockout as the "
            "login form: after repeated failures for a username from one address, even the right "
            "password is refused (429) for a cool-off period."
        ),
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            **error_responses(),
            400: OpenApiResponse(
                ErrorSerializer, description="Missing fields, a wrong username or password, or a missing or wrong code."
            ),
            403: OpenApiResponse(ErrorSerializer, description="A staff account without two-factor authentication."),
            429: OpenApiResponse(ErrorSerializer, description="Locked out after repeated failures; see Retry-After."),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        data = valid(TokenRequestSerializer, request.data)
        # The DRF request goes to the backends: django-axes refuses a locked-out client before any
        # password is checked, and counts this attempt if it fails.
        user = authenticate(request=request, username=data["username"], password=data["password"])
        if user is None:
            if getattr(request, "axes_locked_out", False):
                cool_off = get_cool_off(request)
                minutes = max(1, int(cool_off.total_seconds() // 60)) if cool_off else None
                message = (
                    _("Too many failed logins; try again in %(minutes)d minutes.") % {"minutes": minutes}
                    if minutes
                    else _("Too many failed logins; this account is locked. Contact support.")
                )
                response = error_response(message, status.HTTP_429_TOO_MANY_REQUESTS)
                if cool_off:
                    response["Retry-After"] = str(int(cool_off.total_seconds()))
                return response
            return error_response(_("That username and password do not match an account."))
        tokens.check_second_factor(request=request, user=user, code=data.get("code", ""))
        # A successful login like any other: axes resets the failures, last_login moves, the login is logged.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, key = tokens.issue_api_token(user=user, name=data.get("name", ""))
        return Response({**ApiTokenSerializer(token).data, "token": key, "username": user.username})

    @extend_schema(
        summary="Log out: revoke the API token in use",
        request=None,
        responses={
            204: None,
            **error_responses(401),
            400: OpenApiResponse(ErrorSerializer, description="Signed in with a browser session, not a token."),
        },
        tags=["auth"],
    )
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            return error_response(_("You are signed in with a browser session, not a token; use the sign-out page."))
        tokens.revoke_token(token=request.auth)
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your API tokens",
        description="The tokens that work now, newest first; never their keys.",
        responses={200: ApiTokenSerializer(many=True), **error_responses(401)},
        tags=["auth"],
    )
    def get(self, request):
        return Response(ApiTokenSerializer(tokens.usable_tokens(user=request.user), many=True).data)


class TokenDetailView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke one of your API tokens",
        parameters=[OpenApiParameter("token_id", int, OpenApiParameter.PATH, description="The token's id.")],
        request=None,
        responses={204: None, **error_responses(401, 404)},
        tags=["auth"],
    )
    def delete(self, request, token_id: int):
        tokens.revoke_api_token(user=request.user, token_id=token_id)
        audit("api_token_revoked", request, token=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceView(OrbitAPIView):
    # A device token for an app install: the X-Orbit-Device header counts only with a token this
    # server signed, and tokens are rationed per address (THROTTLE_DEVICE), so one machine cannot
    # pass for a crowd of devices.
    permission_classes = [AllowAny]
    throttle_classes = [AddressThrottle]
    throttle_scope = "device"

    @extend_schema(
        summary="Get a device token for this app install",
        description=(
            "Ask once per install, signed in or not, and send the token as `X-Orbit-Device` on every "
            "request. The server signs it: an invented or altered value is ignored, and the request "
            "counts as coming from its address alone. New tokens are limited per address "
            "(`THROTTLE_DEVICE`)."
        ),
        request=None,
        responses={201: DeviceSerializer, **error_responses(429)},
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        return Response({"device": issue_device()}, status=status.HTTP_201_CREATED)


# --- You -----------------------------------------------------------------------------------


class _DeleteWithBodySchema(AutoSchema):
    """DELETE /me/ carries the password in its body; drf-spectacular documents request bodies for
    PUT, PATCH and POST only, so the DELETE is described as those are."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class MeView(OrbitAPIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [BoundedJSONParser, MultiPartParser]
    schema = _DeleteWithBodySchema()

    @extend_schema(summary="Your account", responses={200: MeSerializer, **error_responses(401)}, tags=["me"])
    def get(self, request):
        return Response(MeSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        summary="Change your profile",
        description=(
            "Only display_name, bio, language, show_performance, accepts_tips and avatar can be changed (avatar with "
            "multipart). "
            "Any other field, such as is_staff, is refused with 400 and changes nothing."
        ),
        request={"application/json": MeUpdateSerializer, "multipart/form-data": MeUpdateMultipartSerializer},
        responses={200: MeSerializer, **error_responses(400, 401, 403)},
        tags=["me"],
    )
    def patch(self, request):
        multipart = request.content_type.startswith("multipart/")
        data = valid(MeUpdateMultipartSerializer if multipart else MeUpdateSerializer, request.data)
        request.user.profile = services.update_profile(user=request.user, **data)
        return Response(MeSerializer(request.user, context={"request": request}).data)

    @extend_schema(
        summary="Delete your account",
        description=(
            "Needs your current password. Your personal data is erased (profile, posts' and comments' "
            "text, follows, trading data, tokens, sessions) and you are signed out everywhere; counts and "
            "paid earnings stay, credited to an anonymous account. Wrong passwords count towards the "
            "login lockout. Staff accounts are refused (403): another operator removes their rights first."
        ),
        request=AccountDeleteSerializer,
        responses={
            204: None,
            **error_responses(403),
            400: OpenApiResponse(ErrorSerializer, description="No password, or not your current password."),
            429: OpenApiResponse(ErrorSerializer, description="Locked out after repeated wrong passwords."),
        },
        tags=["me"],
    )
    def delete(self, request):
        data = valid(AccountDeleteSerializer, request.data)
        privacy.ensure_can_delete(user=request.user)
        if not privacy.password_confirmed(request=request, password=data["password"]):
            if getattr(request, "axes_locked_out", False):
                return error_response(
                    _("Too many wrong passwords; try again later."), status.HTTP_429_TOO_MANY_REQUESTS
                )
            return error_response(_("That is not your current password."))
        privacy.delete_account(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(OrbitAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Download all your data",
        description=(
            "Everything Orbit holds about you as one JSON document: account, profile, follows, posts, "
            "comments, likes, your engagement, trading data, earnings and ledger lines. Served as an "
            "attachment."
        ),
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The export."), **error_responses()},
        tags=["me"],
    )
    def get(self, request):
        body = privacy.export_account_data(user=request.user)
        filename = privacy.export_filename(request.user)
        return Response(body, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- People --------------------------------------------------------------------------------


class UserDetailView(OrbitAPIView):
    @extend_schema(
        summary="A creator's profile",
        parameters=[USERNAME],
        responses={200: ProfileSerializer, **error_responses(404)},
        tags=["people"],
    )
    def get(self, request, username: str):
        creator = selectors.creator_profile(username=username, viewer=request.user)
        return Response(ProfileSerializer(creator, context={"request": request}).data)


class _PeopleListView(OrbitAPIView):
    list_selector = staticmethod(selectors.followers_of)  # or followed_by
    person_field = "follower"  # which side of the Follow rows to show

    def get(self, request, username: str):
        query = page_query(request)
        creator = selectors.creator_profile(username=username, viewer=request.user)
        page = self.list_selector(user=creator, **query)
        people = [getattr(follow, self.person_field) for follow in page.items]
        body = {"results": people, "next_cursor": page.next_cursor}
        return Response(UserPageSerializer(body, context={"request": request}).data)


@extend_schema(
    summary="People following a creator",
    description="Newest first; keyset pages.",
    parameters=[USERNAME, PageQuerySerializer],
    responses={200: UserPageSerializer, **error_responses(400, 404)},
    tags=["people"],
)
class FollowersView(_PeopleListView):
    list_selector = staticmethod(selectors.followers_of)
    person_field = "follower"


@extend_schema(
    summary="People a creator follows",
    description="Newest first; keyset pages.",
    parameters=[USERNAME, PageQuerySerializer],
    responses={200: UserPageSerializer, **error_responses(400, 404)},
    tags=["people"],
)
class FollowingView(_PeopleListView):
    list_selector = staticmethod(selectors.followed_by)
    person_field = "followee"


class FollowView(OrbitAPIView):
    throttle_scope = "follow"

    def _state(self, request, username: str) -> Response:
        creator = selectors.creator_profile(username=username, viewer=request.user)
        return Response({"following": creator.followed_by_viewer, "followers_count": creator.follower_count})

    @extend_schema(
        summary="Follow a creator",
        description="Following twice counts once. Throttled per user (scope `follow`).",
        parameters=[USERNAME],
        request=None,
        responses={200: FollowStateSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["people"],
    )
    def post(self, request, username: str):
        services.follow_user(follower=request.user, username=username, fp=app_fingerprint(request))
        return self._state(request, username)

    @extend_schema(
        summary="Unfollow a creator",
        parameters=[USERNAME],
        request=None,
        responses={200: FollowStateSerializer, **error_responses(401, 403, 404, 429)},
        tags=["people"],
    )
    def delete(self, request, username: str):
        services.unfollow_user(follower=request.user, username=username, fp=app_fingerprint(request))
        return self._state(request, username)


class MuteView(OrbitAPIView):
    throttle_scope = "follow"

    @extend_schema(
        summary="Mute a creator",
        description="Their posts and comments disappear for you; they are not told.",
        parameters=[USERNAME],
        request=None,
        responses={200: MuteStateSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["people"],
    )
    def post(self, request, username: str):
        services.mute_user(user=request.user, username=username)
        return Response({"muted": True})

    @extend_schema(
        summary="Unmute a creator",
        parameters=[USERNAME],
        request=None,
        responses={200: MuteStateSerializer, **error_responses(401, 404, 429)},
        tags=["people"],
    )
    def delete(self, request, username: str):
        services.unmute_user(user=request.user, username=username)
        return Response({"muted": False})


class BlockView(OrbitAPIView):
    throttle_scope = "follow"

    @extend_schema(
        summary="Block a creator",
        description="Neither of you sees the other; follows both ways end.",
        parameters=[USERNAME],
        request=None,
        responses={200: BlockStateSerializer, **error_responses(400, 401, 403, 404, 429)},
        tags=["people"],
    )
    def post(self, request, username: str):
        services.block_user(user=request.user, username=username)
        return Response({"blocked": True})

    @extend_schema(
        summary="Unblock a creator",
        parameters=[USERNAME],
        request=None,
        responses={200: BlockStateSerializer, **error_responses(401, 404, 429)},
        tags=["people"],
    )
    def delete(self, request, username: str):
        services.unblock_user(user=request.user, username=username)
        return Response({"blocked": False})
