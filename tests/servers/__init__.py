"""Real servers on 127.0.0.1 for the tests (git daemon, S3, MLflow, an OpenID Provider, SMTP, webhooks).

The fixtures are in tests/servers/plugin.py; README.md beside this file explains each one.
"""
