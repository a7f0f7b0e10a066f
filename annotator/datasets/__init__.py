"""Datasets in and out of projects: the services between `annotator.formats` and the database.

`importing` reads a folder or zip in any known format into a project (all or nothing),
`exporting` writes a project as a zip in any format, `jobs` runs both in the background
with progress; the rules are in docs/datasets.md.
"""
