from rest_framework import serializers

from accounts.models import Team

from ..models import Campaign


class CampaignSerializer(serializers.ModelSerializer):
    teams = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=Team.objects.all(), required=False,
                                         help_text="team slugs; leave out (or `all_teams`) for every team")
    all_teams = serializers.BooleanField(write_only=True, required=False, default=False)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "cycle", "title", "deadline", "teams", "all_teams", "created_by", "created_at",
                  "drafts_created", "reminder_sent_at", "escalated_at", "closed_at"]
        read_only_fields = ["created_at", "drafts_created", "reminder_sent_at", "escalated_at", "closed_at"]
        validators = []  # the service answers a second launch of a cycle with a clear message

    def get_fields(self):
        fields = super().get_fields()
        fields["cycle"].validators = []
        return fields
