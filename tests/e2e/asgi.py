"""The project's ASGI app with static files served, as the end-to-end tests run it under daphne."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import application as project_application

application = ASGIStaticFilesHandler(project_application)
