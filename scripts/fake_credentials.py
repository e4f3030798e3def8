"""Fake credentials the local stack uses besides the webhook secrets of events/test.env (which
scripts/gen-events writes). Obviously not real; events/README.md lists them."""

# The stand-in Atlas Admin API's service account (scripts/atlas_api_standin.py).
ATLAS_API_CLIENT_ID = "mdb_sa_id_test-alert-relay-0000"
ATLAS_API_CLIENT_SECRET = "mdb_sa_sk_test-atlas-api-secret-not-real"
