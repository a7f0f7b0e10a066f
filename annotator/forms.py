from django import forms

from annotator.models import ProjectType


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    type = forms.ChoiceField(choices=ProjectType.choices, widget=forms.RadioSelect, initial=ProjectType.LOCALIZATION)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A project needs a name.")
        return name
