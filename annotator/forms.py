from django import forms

from annotator.models import ProjectType


class ProjectForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True}),
        error_messages={"required": "A project needs a name."},
    )
    type = forms.ChoiceField(choices=ProjectType.choices, widget=forms.RadioSelect, initial=ProjectType.LOCALIZATION)
