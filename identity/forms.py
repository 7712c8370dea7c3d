from django import forms

from accounts.choices import OrgRole, TeamRole
from accounts.models import Team, User


class UserRoleForm(forms.Form):
    org_role = forms.ChoiceField(choices=OrgRole.choices)
    is_active = forms.BooleanField(required=False)


class InviteForm(forms.Form):
    email = forms.EmailField()
    org_role = forms.ChoiceField(choices=OrgRole.choices, initial=OrgRole.NONE)


class AcceptInvitationForm(forms.Form):
    username = forms.RegexField(regex=r"^[\w.@+-]+$", max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128, strip=False)


class MembershipForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True).order_by("username"))
    role = forms.ChoiceField(choices=TeamRole.choices)


class ProviderForm(forms.Form):
    slug = forms.SlugField(max_length=40)
    label = forms.CharField(max_length=80)
    issuer = forms.URLField(max_length=300, assume_scheme="https")
    client_id = forms.CharField(max_length=200)
    client_secret = forms.CharField(max_length=500, required=False, widget=forms.PasswordInput(render_value=False),
                                    help_text="Stored encrypted; leave empty to keep the stored one (or for a public client).")
    scopes = forms.CharField(max_length=300, initial="openid email profile groups")
    groups_claim = forms.CharField(max_length=80, initial="groups")
    mfa_amr = forms.CharField(max_length=200, required=False, label="amr values that prove MFA")
    mfa_acr = forms.CharField(max_length=300, required=False, label="acr values that prove MFA")
    enabled = forms.BooleanField(required=False, initial=True)


class RuleForm(forms.Form):
    group = forms.CharField(max_length=200)
    org_role = forms.ChoiceField(choices=[("", "—")] + [c for c in OrgRole.choices if c[0] != OrgRole.NONE],
                                 required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False)
    team_role = forms.ChoiceField(choices=[("", "—")] + list(TeamRole.choices), required=False)


class ScimTokenForm(forms.Form):
    name = forms.CharField(max_length=120)
