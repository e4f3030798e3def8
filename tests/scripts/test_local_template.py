"""scripts/local-template: the template `sam local` runs differs from template.yaml only in what
local runs need, and keeps working as resources and variables are added."""

import importlib.machinery
import importlib.util
import subprocess
import sys

from samcli.yamlhelper import parse_yaml_file, yaml_parse

from conftest import ROOT

_loader = importlib.machinery.SourceFileLoader("local_template", str(ROOT / "scripts" / "local-template"))
_spec = importlib.util.spec_from_loader("local_template", _loader)
local_template = importlib.util.module_from_spec(_spec)
_loader.exec_module(local_template)

TEMPLATE = yaml_parse("""
Parameters:
  Secret: {Type: String, Default: ""}
Conditions:
  HasSecret: !Not [!Equals [!Ref Secret, ""]]
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: Fn
      Environment:
        Variables:
          TOPIC: !Ref Topic
          QUEUE_URL: !GetAtt Queue.QueueUrl
          QUEUE_ARN: !GetAtt [Queue, Arn]
          NAMED: !Sub "${Topic}-x"
          SECRET: !If [HasSecret, !Ref Secret, !Ref AWS::NoValue]
          REGION: !Ref AWS::Region
          PLAIN: "1"
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
""")


def derived(tmp_path):
    return local_template.derive(TEMPLATE, tmp_path, ["AWS_ENDPOINT_URL"])


def test_variables_naming_a_resource_of_the_stack_are_blanked(tmp_path):
    variables = derived(tmp_path)["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["TOPIC"] == variables["QUEUE_URL"] == variables["QUEUE_ARN"] == variables["NAMED"] == ""


def test_parameters_pseudo_parameters_and_literals_are_kept(tmp_path):
    variables = derived(tmp_path)["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["SECRET"] == {"Fn::If": ["HasSecret", {"Ref": "Secret"}, {"Ref": "AWS::NoValue"}]}
    assert variables["REGION"] == {"Ref": "AWS::Region"}
    assert variables["PLAIN"] == "1"


def test_declares_the_local_variables_on_every_function(tmp_path):
    resources = derived(tmp_path)["Resources"]
    assert resources["Fn"]["Properties"]["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""
    assert resources["Other"]["Properties"]["Environment"]["Variables"] == {"AWS_ENDPOINT_URL": ""}
    assert resources["Topic"] == {"Type": "AWS::SNS::Topic"}


def test_a_relative_code_uri_is_resolved_and_a_remote_one_kept(tmp_path):
    resources = derived(tmp_path)["Resources"]
    assert resources["Fn"]["Properties"]["CodeUri"] == str(tmp_path.resolve() / "Fn")
    assert resources["Other"]["Properties"]["CodeUri"] == "s3://bucket/key.zip"


def test_the_deployed_template_declares_no_local_variable():
    """The emulator's endpoint, fake credentials and plain secrets never reach the deployed function."""
    import samstack

    assert {"AWS_ENDPOINT_URL", "ATLAS_WEBHOOK_SECRETS", "APP_SERVICES_QUERY_SECRETS"} <= set(samstack.local_variables())
    template = parse_yaml_file(str(ROOT / "template.yaml"))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert not set(samstack.local_variables()) & set(variables)


def test_locally_the_secrets_are_plain_variables_and_their_arns_blank(tmp_path):
    """No Secrets Manager under `sam local`: the function gets events/test.env's secrets through
    --env-vars, which fills only declared variables, and no ARN of a secret the stack would create."""
    import samstack

    out = tmp_path / "local.yaml"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "local-template"), str(ROOT / "template.yaml"), str(out),
                    *(arg for name in samstack.local_variables() for arg in ("--declare", name))], check=True)
    variables = parse_yaml_file(str(out))["Resources"]["AlertRelayFunction"]["Properties"]["Environment"]["Variables"]
    # events/test.env holds every provider's credential variables (ALERTMANAGER_BEARER_TOKENS, …).
    secrets = [name for name in samstack.local_variables() if name not in samstack.LOCAL_VARIABLES]
    assert "ALERTMANAGER_BEARER_TOKENS" in secrets, "events/test.env names no secret"
    for name in secrets:
        assert variables[name] == ""
        assert variables[name + "_ARN"] == ""


def test_derives_the_real_template(tmp_path):
    out = tmp_path / "local.yaml"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "local-template"), str(ROOT / "template.yaml"), str(out),
                    "--declare", "AWS_ENDPOINT_URL"], check=True)
    function = parse_yaml_file(str(out))["Resources"]["AlertRelayFunction"]["Properties"]
    assert function["Environment"]["Variables"]["ALERT_TOPIC_ARN"] == ""
    assert function["Environment"]["Variables"]["AWS_ENDPOINT_URL"] == ""
    assert function["Architectures"] == [{"Ref": "Architecture"}]
    assert function["CodeUri"] == str(ROOT)
