from django import forms

from annotator.models import Project, ProjectType
from annotator.services.projects import MAX_LABEL_NAME, MAX_LABELS_AT_CREATION, InvalidLabelList, parse_label_names

# Room for the most labels one may give at creation, each as long as a label may be, one a line.
LABEL_LIST_MAX_CHARS = MAX_LABELS_AT_CREATION * (MAX_LABEL_NAME + 1)


class ProjectForm(forms.Form):
    model = Project  # the model whose limits the fields carry (tests/annotator/test_input_limits.py)

    name = forms.CharField(
        max_length=Project._meta.get_field("name").max_length,
        widget=forms.TextInput(attrs={"autofocus": True}),
        error_messages={"required": "A project needs a name."},
    )
    type = forms.ChoiceField(choices=ProjectType.choices, widget=forms.RadioSelect, initial=ProjectType.LOCALIZATION)
    # Not `labels`: the project's labels are a relation, this is text to make them from.
    label_names = forms.CharField(
        required=False,
        max_length=LABEL_LIST_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "cat, dog\nraccoon"}),
        help_text="One per line or comma-separated; you can add, rename and reorder them later.",
    )

    def clean_label_names(self) -> list[str]:
        try:
            return parse_label_names(self.cleaned_data.get("label_names", ""))
        except InvalidLabelList as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
