"""scripts/gen-template: template.yaml's per-provider parts come from the provider registry (what
`alert-relay-sign providers --json` prints), and only those parts."""

import copy
import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from samcli.yamlhelper import yaml_parse

from ci_skips import unavailable
from conftest import ROOT

_loader = importlib.machinery.SourceFileLoader("gen_template", str(ROOT / "scripts" / "gen-template"))
_spec = importlib.util.spec_from_loader("gen_template", _loader)
gen_template = importlib.util.module_from_spec(_spec)
_loader.exec_module(gen_template)

SCRIPT = ROOT / "scripts" / "gen-template"
DATA = ROOT / "tests" / "scripts" / "data"
# A copy of the signer's registry (test_the_fixture_is_the_signers_registry keeps it one).
REGISTRY_FILE = DATA / "providers.json"
REGISTRY = json.loads(REGISTRY_FILE.read_text())
STANDARD_WEBHOOKS = json.loads((DATA / "provider-standard-webhooks.json").read_text())
# Today's three, before and after standard-webhooks joins the registry.
BASE = [p for p in REGISTRY if p["slug"] != STANDARD_WEBHOOKS["slug"]]
TEMPLATE = (ROOT / "template.yaml").read_text()
SIGNER = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target").resolve() / "debug" / "alert-relay-sign"
SECTIONS = ("Parameters", "Conditions", "Rules", "Resources", "Outputs")
NO_VALUE = {"Ref": "AWS::NoValue"}


def without(slug: str) -> list:
    return [p for p in REGISTRY if p["slug"] != slug]


def credential_variables(provider: dict) -> list[str]:
    """What the function reads a provider's credentials from: the registry's `secret_variables`,
    else <P>_WEBHOOK_SECRETS; and <P>_QUERY_SECRETS where its sender documents one."""
    declared = [v["variable"] for v in provider.get("secret_variables") or []]
    declared = declared or [provider["env_prefix"] + "_WEBHOOK_SECRETS"]
    return declared + ([provider["env_prefix"] + "_QUERY_SECRETS"] if provider.get("query_secrets") else [])


def parameter_of(provider: dict, variable: str) -> str:
    """ALERTMANAGER_BEARER_TOKENS -> AlertmanagerBearerTokens."""
    stem = "".join(word.capitalize() for word in provider["slug"].split("-"))
    return stem + "".join(w.capitalize() for w in variable.removeprefix(provider["env_prefix"] + "_").split("_"))


def render(registry, template=TEMPLATE) -> str:
    return gen_template.render(template, gen_template.providers_from(registry))


def function(template: dict) -> dict:
    return template["Resources"]["AlertRelayFunction"]["Properties"]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, **kwargs)


def test_template_yaml_is_what_the_registry_generates(tmp_path):
    out = tmp_path / "template.yaml"
    done = run("--providers-json", REGISTRY_FILE, out)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == TEMPLATE


def test_the_fixture_is_the_signers_registry():
    if not SIGNER.exists():
        unavailable(f"no signer at {SIGNER} (make events-check builds it)")
    done = subprocess.run([str(SIGNER), "providers", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, f"`alert-relay-sign providers --json` failed (a stale build?): {done.stderr}"
    assert json.loads(done.stdout) == REGISTRY, f"{REGISTRY_FILE.relative_to(ROOT)} is stale: run `make providers-json`"


def test_generation_is_deterministic_idempotent_and_reversible():
    grown = render(BASE + [STANDARD_WEBHOOKS])
    assert render(BASE + [STANDARD_WEBHOOKS]) == grown
    assert render(BASE + [STANDARD_WEBHOOKS], grown) == grown
    assert render(BASE, grown) == render(BASE)


def test_deployed_stacks_keep_their_parameter_and_variable_names():
    """Existing stacks, samconfig.toml overrides and src/config.rs rely on these names."""
    template = yaml_parse(render(BASE))
    for stem, prefix in (("Atlas", "ATLAS"), ("AppServices", "APP_SERVICES"), ("MonteCarlo", "MONTE_CARLO")):
        for suffix in ("WebhookSecrets", "AllowUnsigned", "WebhookSecretsArn"):
            assert stem + suffix in template["Parameters"]
        for suffix in ("ALLOW_UNSIGNED", "WEBHOOK_SECRETS_ARN"):
            assert f"{prefix}_{suffix}" in function(template)["Environment"]["Variables"]
        assert stem + "WebhookUrl" in template["Outputs"]
        assert template["Parameters"][stem + "WebhookSecrets"]["NoEcho"] is True
    # Query secrets only where the sender documents them (App Services): Atlas and Monte Carlo
    # sign every request, and a secret in the URL is in every log of it (docs/providers.md).
    for suffix in ("QuerySecrets", "QuerySecretsArn"):
        assert "AppServices" + suffix in template["Parameters"]
        assert "Atlas" + suffix not in template["Parameters"]
        assert "MonteCarlo" + suffix not in template["Parameters"]
    assert template["Parameters"]["AppServicesQuerySecrets"]["NoEcho"] is True
    assert "APP_SERVICES_QUERY_SECRETS_ARN" in function(template)["Environment"]["Variables"]
    assert "ATLAS_QUERY_SECRETS_ARN" not in function(template)["Environment"]["Variables"]


def provider_parts(template: dict, stem: str, prefix: str) -> tuple[dict, dict]:
    """A copy of `template` without one provider's parts (and without the Description, which names
    every provider), and those parts."""
    rest, parts = copy.deepcopy(template), {}
    del rest["Description"]
    for section in SECTIONS:
        parts[section] = {k: rest[section].pop(k) for k in list(rest[section])
                          if k.startswith((stem, "Has" + stem))}
    variables = function(rest)["Environment"]["Variables"]
    parts["Variables"] = {k: variables.pop(k) for k in list(variables) if k.startswith(prefix + "_")}
    policies = function(rest)["Policies"]
    parts["Policies"] = [p for p in policies if stem in json.dumps(p)]
    function(rest)["Policies"] = [p for p in policies if stem not in json.dumps(p)]
    return rest, parts


def test_a_new_provider_adds_its_parameters_conditions_rules_variables_policies_and_url():
    before = yaml_parse(render(BASE))
    after = yaml_parse(render(BASE + [STANDARD_WEBHOOKS]))
    rest, parts = provider_parts(after, "StandardWebhooks", "STANDARD_WEBHOOKS")
    assert rest == provider_parts(before, "StandardWebhooks", "STANDARD_WEBHOOKS")[0]  # nothing else changed

    stem = "StandardWebhooks"
    assert set(parts["Parameters"]) == {stem + s for s in ("WebhookSecrets", "AllowUnsigned", "WebhookSecretsArn")}
    assert {k for k, v in parts["Parameters"].items() if v.get("NoEcho")} == {stem + "WebhookSecrets"}
    assert parts["Parameters"][stem + "AllowUnsigned"]["AllowedValues"] == ["false", "true"]
    assert set(parts["Conditions"]) == {f"Has{stem}WebhookSecrets", f"{stem}Unsigned", f"Has{stem}WebhookSecretsArn"}
    assert set(parts["Rules"]) == {f"{stem}WebhookSecretsOneSource"}
    assert parts["Resources"] == {f"{stem}WebhookSecretsSecret": {
        "Type": "AWS::SecretsManager::Secret", "Condition": f"Has{stem}WebhookSecrets",
        "Properties": {"Description": {"Fn::Sub": f"alert-relay (stack ${{AWS::StackName}}): the {stem}WebhookSecrets "
                                                  "parameter, a comma list"},
                       "SecretString": {"Ref": f"{stem}WebhookSecrets"}}}}
    # The stack's secret when the NoEcho parameter is given, else the one its ARN parameter names.
    assert parts["Variables"]["STANDARD_WEBHOOKS_WEBHOOK_SECRETS_ARN"] == {
        "Fn::If": [f"Has{stem}WebhookSecrets", {"Ref": f"{stem}WebhookSecretsSecret"},
                   {"Fn::If": [f"Has{stem}WebhookSecretsArn", {"Ref": f"{stem}WebhookSecretsArn"},
                               {"Ref": "AWS::NoValue"}]}]}
    assert parts["Variables"]["STANDARD_WEBHOOKS_ALLOW_UNSIGNED"] == {
        "Fn::If": [f"{stem}Unsigned", "true", {"Ref": "AWS::NoValue"}]}
    assert set(parts["Variables"]) == {"STANDARD_WEBHOOKS_" + s for s in ("ALLOW_UNSIGNED", "WEBHOOK_SECRETS_ARN")}
    assert parts["Policies"] == [
        {"Fn::If": [condition,
                    {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": secret}}},
                    {"Ref": "AWS::NoValue"}]}
        for condition, secret in ((f"Has{stem}WebhookSecrets", f"{stem}WebhookSecretsSecret"),
                                  (f"Has{stem}WebhookSecretsArn", f"{stem}WebhookSecretsArn"))]
    assert set(parts["Outputs"]) == {stem + "WebhookUrl"}
    assert parts["Outputs"][stem + "WebhookUrl"]["Value"]["Fn::Sub"].endswith("/webhooks/standard-webhooks")
    assert "Standard Webhooks" in after["Description"] and "Standard Webhooks" not in before["Description"]


def refs(value) -> set[str]:
    """Every name an intrinsic-function tree refers to: Ref, GetAtt's resource, ${Name} in a Sub."""
    if isinstance(value, list):
        return set().union(*map(refs, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, arg in value.items():
        if key == "Ref":
            found.add(arg)
        elif key == "Fn::GetAtt":
            found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
        elif key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) else arg
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
        found |= refs(arg)
    return found


def secret_parameters(template: dict) -> list[str]:
    return [name for name, parameter in template["Parameters"].items() if parameter.get("NoEcho")]


@pytest.mark.parametrize("registry", [REGISTRY, BASE], ids=["template.yaml", "without standard-webhooks"])
def test_the_functions_environment_holds_no_secret(registry):
    """lambda:GetFunctionConfiguration shows the environment: no NoEcho parameter may reach it,
    directly or through a resource other than its Secrets Manager secret (which it names by ARN)."""
    template = yaml_parse(render(registry))
    secrets = secret_parameters(template)
    assert sorted(secrets) == sorted(parameter_of(p, v) for p in registry for v in credential_variables(p))
    variables = function(template)["Environment"]["Variables"]
    named = refs(list(variables.values()))
    assert not named & set(secrets), f"secret parameters in the environment: {named & set(secrets)}"
    for resource in named & set(template["Resources"]):
        if template["Resources"][resource]["Type"] != "AWS::SecretsManager::Secret":
            assert not refs(template["Resources"][resource]) & set(secrets), resource
    assert not set(variables) & {v for p in registry for v in credential_variables(p)}


@pytest.mark.parametrize("registry", [REGISTRY, BASE], ids=["template.yaml", "without standard-webhooks"])
def test_each_secret_parameter_has_its_secret_which_only_the_function_reads(registry):
    template = yaml_parse(render(registry))
    variable_of = {parameter_of(p, v): v for p in registry for v in credential_variables(p)}
    policies = function(template)["Policies"]
    for parameter in secret_parameters(template):
        secret = template["Resources"][parameter + "Secret"]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        assert secret["Condition"] == "Has" + parameter
        assert secret["Properties"]["SecretString"] == {"Ref": parameter}
        variable = function(template)["Environment"]["Variables"][variable_of[parameter] + "_ARN"]
        assert variable["Fn::If"][:2] == ["Has" + parameter, {"Ref": parameter + "Secret"}]
        assert {"Fn::If": ["Has" + parameter,
                           {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": parameter + "Secret"}}},
                           {"Ref": "AWS::NoValue"}]} in policies
    # Nothing else reads a secret: each GetSecretValue names one secret, of the stack or a parameter's.
    reads = [json.dumps(p) for p in policies if "SecretsManager" in json.dumps(p) or "secretsmanager" in json.dumps(p)]
    assert len(reads) == 2 * len(secret_parameters(template)) + 1  # + the Atlas Admin API's client secret


def test_the_dead_letter_queue_takes_no_message_but_dead_letters():
    template = yaml_parse(TEMPLATE)
    policy = template["Resources"]["FallbackDeadLetterQueuePolicy"]
    assert policy["Type"] == "AWS::SQS::QueuePolicy" and policy["Condition"] == "HasFallbackQueue"
    assert policy["Properties"]["Queues"] == [{"Ref": "FallbackDeadLetterQueue"}]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    # SQS moves dead letters itself (no SendMessage, no policy); any sender, of any account, is refused.
    assert statements["NobodySends"] == {
        "Sid": "NobodySends", "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["FallbackDeadLetterQueue", "Arn"]}}
    assert statements["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_the_function_and_the_recovery_role_send_to_the_fallback_queue():
    """`aws sqs start-message-move-task` sends as the principal that started it: the recovery role
    is the one principal besides the function that the fallback queue's Deny lets through."""
    template = yaml_parse(TEMPLATE)
    statements = {s["Sid"]: s for s in
                  template["Resources"]["FallbackQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    deny = statements["OnlyTheFunctionSends"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage")
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [
        {"Fn::GetAtt": ["AlertRelayFunctionRole", "Arn"]},
        {"Fn::If": ["HasRecoveryRole", {"Ref": "RecoveryRoleArn"}, {"Ref": "AWS::NoValue"}]}]}}
    assert template["Conditions"]["HasRecoveryRole"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RecoveryRoleArn"}, ""]}]}


def test_the_recovery_policy_grants_what_a_move_back_takes_and_no_more():
    template = yaml_parse(TEMPLATE)
    document = template["Resources"]["FallbackRecoveryPolicy"]["Properties"]["PolicyDocument"]
    granted = {}
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resource = json.dumps(statement["Resource"])
        granted.setdefault(resource, set()).update(actions)
    dlq, queue = (json.dumps({"Fn::GetAtt": [name, "Arn"]}) for name in ("FallbackDeadLetterQueue", "FallbackQueue"))
    assert granted.pop(dlq) == {"sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                                "sqs:GetQueueAttributes", "sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask"}
    assert granted.pop(queue) == {"sqs:SendMessage", "sqs:GetQueueAttributes"}
    assert granted == {json.dumps({"Ref": "AWS::StackId"}): {"cloudformation:DescribeStacks"}}
    assert template["Outputs"]["FallbackRecoveryPolicyArn"]["Value"] == {"Ref": "FallbackRecoveryPolicy"}


def test_the_function_learns_the_fallback_queue_it_accepts_records_from():
    variables = function(yaml_parse(TEMPLATE))["Environment"]["Variables"]
    assert variables["FALLBACK_QUEUE_ARN"] == {
        "Fn::If": ["HasFallbackQueue", {"Fn::GetAtt": ["FallbackQueue", "Arn"]}, {"Ref": "AWS::NoValue"}]}


def test_the_logs_are_kept_30_days_and_the_log_group_and_topic_take_optional_keys():
    template = yaml_parse(TEMPLATE)
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    logs = template["Resources"]["AlertRelayLogs"]["Properties"]
    assert logs["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert logs["KmsKeyId"] == {"Fn::If": ["HasLogKmsKey", {"Ref": "LogKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    topic = template["Resources"]["AlertTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::If": ["HasTopicKmsKey", {"Ref": "TopicKmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    for name in ("LogKmsKeyArn", "TopicKmsKeyArn"):
        assert template["Parameters"][name]["Default"] == ""
    # Publishing to an encrypted topic takes these two on its key, and the function gets no more.
    grants = [p["Fn::If"][1] for p in function(template)["Policies"]
              if isinstance(p, dict) and p.get("Fn::If", [None])[0] == "HasTopicKmsKey"]
    assert grants == [{"Statement": [{"Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                                      "Resource": {"Ref": "TopicKmsKeyArn"}}]}]
    assert "kms:" not in json.dumps([p for p in function(template)["Policies"] if p not in
                                     [{"Fn::If": ["HasTopicKmsKey", grants[0], {"Ref": "AWS::NoValue"}]}]])


def test_every_checkov_skip_gives_its_reason():
    skips = re.findall(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?$", TEMPLATE, re.MULTILINE)
    assert skips, "no checkov skip found: the pattern no longer matches template.yaml"
    assert [check for check, reason in skips if len(reason.strip()) < 20] == []


def test_descriptions_name_the_provider_its_header_scheme_and_secret_form():
    parameters = yaml_parse(render(BASE + [STANDARD_WEBHOOKS]))["Parameters"]
    secrets = parameters["StandardWebhooksWebhookSecrets"]["Description"]
    for part in ("Standard Webhooks", "webhook-signature", STANDARD_WEBHOOKS["scheme"], "in the whsec_… base64 form"):
        assert part in secrets
    assert "X-MMS-Signature (base64 of HMAC-SHA1)" in parameters["AtlasWebhookSecrets"]["Description"]
    assert " form" not in parameters["AtlasWebhookSecrets"]["Description"]
    assert "webhook-signature" in parameters["StandardWebhooksAllowUnsigned"]["Description"]


@pytest.mark.parametrize("text", ["plain, words (x) = y.", "a: b", "a #b", "ends:", "true", "No", "12",
                                  '"quoted"', "- dash", "[list]", "{map}", "*alias", "!tag", "tab\there", "…"])
def test_a_description_reads_back_as_written(text):
    assert yaml_parse(f"key: {gen_template.scalar(text)}\n")["key"] == text


def test_the_result_passes_cfn_lint(tmp_path):
    out = tmp_path / "template.yaml"
    out.write_text(render(BASE + [STANDARD_WEBHOOKS]))
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hand_written_lines_are_kept_and_hand_edits_in_a_region_undone():
    edited = TEMPLATE.replace("      MemorySize: 128\n", "      MemorySize: 256\n")
    edited = edited.replace('  AtlasUnsigned: !Equals [!Ref AtlasAllowUnsigned, "true"]\n', "")
    assert edited.count("MemorySize: 256") == 1 and "AtlasUnsigned:" not in edited
    assert render(REGISTRY, edited) == TEMPLATE.replace("      MemorySize: 128\n", "      MemorySize: 256\n")


@pytest.mark.parametrize("breakage, complaint", [
    (lambda t: t.replace("  # END generated by scripts/gen-template: per-provider rules\n", ""), "per-provider rules"),
    (lambda t: t.replace("  # BEGIN generated by scripts/gen-template (make template): per-provider rules\n", ""),
     "END marker with no BEGIN"),
    (lambda t: t.replace(": per-provider rules\n", ": per-provider rulez\n"), "unknown region 'per-provider rulez'"),
    (lambda t: t + "# BEGIN generated by scripts/gen-template (make template): per-provider rules\n"
                   "# END generated by scripts/gen-template: per-provider rules\n", "there twice"),
])
def test_broken_markers_are_refused(breakage, complaint):
    with pytest.raises(gen_template.SpecError, match=complaint):
        render(REGISTRY, breakage(TEMPLATE))


@pytest.mark.parametrize("registry, complaint", [
    ([], "non-empty JSON array"),
    (BASE + [BASE[0]], "slug atlas more than once"),
    ([{**BASE[0], "slug": "Atlas Two"}], "slug 'Atlas Two'"),
    ([{k: v for k, v in BASE[0].items() if k != "env_prefix"}], "'env_prefix' missing"),
    ([BASE[0], {**BASE[1], "env_prefix": "ATLAS"}], "env_prefix ATLAS more than once"),
    ([{**BASE[0], "scheme": "two\nlines"}], "scheme must be one non-empty line"),
])
def test_a_registry_it_cannot_generate_from_is_refused(registry, complaint):
    with pytest.raises(gen_template.SpecError, match=complaint):
        gen_template.providers_from(registry)


def test_the_registry_comes_from_the_signers_providers_subcommand(tmp_path):
    signer = tmp_path / "alert-relay-sign"
    signer.write_text(f'#!/bin/sh\n[ "$*" = "providers --json" ] || exit 2\ncat {REGISTRY_FILE}\n')
    signer.chmod(0o755)
    out = tmp_path / "template.yaml"
    done = run(signer, out)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == TEMPLATE


def test_a_bad_registry_fails_with_a_message_and_writes_nothing(tmp_path):
    registry = tmp_path / "providers.json"
    registry.write_text(json.dumps(BASE + [BASE[0]]))
    out = tmp_path / "template.yaml"
    done = run("--providers-json", registry, out)
    assert done.returncode != 0 and "gen-template: the provider registry has slug atlas more than once" in done.stderr
    assert not out.exists()


def test_the_alert_state_table_is_on_by_default_and_the_function_reaches_it_alone():
    template = yaml_parse(TEMPLATE)
    assert template["Parameters"]["AlertState"]["Default"] == "on"
    table = template["Resources"]["AlertStateTable"]
    assert table["Condition"] == "HasAlertState"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert {(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]} == {("pk", "HASH"), ("sk", "RANGE")}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    variables = function(template)["Environment"]["Variables"]
    assert variables["ALERT_STATE_TABLE"] == {"Fn::If": ["HasAlertState", {"Ref": "AlertStateTable"}, {"Ref": "AWS::NoValue"}]}
    # The function's only DynamoDB grant: the item actions it uses, on that table's ARN.
    grants = [
        statement
        for policy in function(template)["Policies"]
        if isinstance(policy, dict) and "Fn::If" in policy
        for branch in policy["Fn::If"][1:2]
        if isinstance(branch, dict)
        for statement in branch.get("Statement", [])
        if any(str(a).startswith("dynamodb:") for a in statement.get("Action", []))
    ]
    assert grants == [{
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"],
        "Resource": {"Fn::GetAtt": ["AlertStateTable", "Arn"]},
    }]
    assert "dynamodb:*" not in TEMPLATE


def evaluate(template: dict, value, given: dict):
    """`value` as CloudFormation would resolve it with the parameters `given` (the others at their
    defaults): conditions evaluated, AWS::NoValue as None, a resource as "<its name>"."""
    def condition(name):
        return evaluate(template, template["Conditions"][name], given)
    if isinstance(value, list):
        return [evaluate(template, item, given) for item in value]
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (key, arg), = value.items()
    if key == "Ref":
        if arg == "AWS::NoValue":
            return None
        if arg in template["Parameters"]:
            return given.get(arg, template["Parameters"][arg].get("Default"))
        return f"<{arg}>"
    if key == "Condition":
        return condition(arg)
    if key == "Fn::If":
        return evaluate(template, arg[1] if condition(arg[0]) else arg[2], given)
    if key == "Fn::Equals":
        left, right = evaluate(template, arg, given)
        return str(left) == str(right)
    if key == "Fn::Not":
        return not evaluate(template, arg[0], given)
    if key == "Fn::Or":
        return any(evaluate(template, arg, given))
    if key == "Fn::And":
        return all(evaluate(template, arg, given))
    return value


def environment(template: dict, **given) -> dict:
    """The function's environment with the parameters `given`, variables set to NoValue left out."""
    variables = function(template)["Environment"]["Variables"]
    resolved = {name: evaluate(template, value, given) for name, value in variables.items()}
    return {name: value for name, value in resolved.items() if value is not None}


def reads(template: dict, **given) -> list:
    """What the function may GetSecretValue on, with the parameters `given`."""
    found = []
    for policy in function(template)["Policies"]:
        resolved = evaluate(template, policy, given)
        if isinstance(resolved, dict) and "AWSSecretsManagerGetSecretValuePolicy" in resolved:
            found.append(evaluate(template, resolved["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"], given))
    return found


ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:alertmanager-{}-AbCdEf"


@pytest.mark.parametrize("parameter, variable, kind", [
    ("AlertmanagerBearerTokens", "ALERTMANAGER_BEARER_TOKENS", "bearer tokens"),
    ("AlertmanagerBasicAuth", "ALERTMANAGER_BASIC_AUTH", "user:password entries"),
])
def test_each_alertmanager_credential_goes_from_its_parameter_to_its_secret_its_arn_variable_and_its_read(
        parameter, variable, kind):
    """Alertmanager authenticates with a credential, not a signature: its two variables are the
    registry's, each with the parts <P>_WEBHOOK_SECRETS has, and there is no AlertmanagerWebhookSecrets."""
    template = yaml_parse(render(REGISTRY))
    parameters = template["Parameters"]
    assert parameters[parameter]["NoEcho"] is True and parameters[parameter]["Default"] == ""
    assert kind in parameters[parameter]["Description"] and "signing" not in parameters[parameter]["Description"]
    assert parameters[parameter + "Arn"]["AllowedPattern"] == parameters["AtlasWebhookSecretsArn"]["AllowedPattern"]
    assert f"Set {parameter} or {parameter}Arn, not both." in json.dumps(template["Rules"][parameter + "OneSource"])
    secret = template["Resources"][parameter + "Secret"]
    assert (secret["Type"], secret["Condition"]) == ("AWS::SecretsManager::Secret", "Has" + parameter)
    assert secret["Properties"]["SecretString"] == {"Ref": parameter}
    assert not {name for name in list(parameters) + list(template["Resources"]) + list(template["Conditions"])
                if "AlertmanagerWebhookSecrets" in name}

    # Given as a value: the stack's secret, named by <VAR>_ARN, readable; the value itself nowhere.
    token = "test-alertmanager-credential"
    given = {parameter: token}
    assert environment(template, **given)[variable + "_ARN"] == f"<{parameter}Secret>"
    assert reads(template, **given) == [f"<{parameter}Secret>"]
    assert token not in json.dumps(environment(template, **given))
    # Given as an ARN: that secret, named and readable, and no secret of the stack's.
    given = {parameter + "Arn": ARN.format(parameter)}
    assert environment(template, **given)[variable + "_ARN"] == ARN.format(parameter)
    assert reads(template, **given) == [ARN.format(parameter)]
    # Neither: no variable, no read.
    assert variable + "_ARN" not in environment(template)
    assert reads(template) == []
    assert not any(name.startswith("ALERTMANAGER_") for name in environment(template))


def test_alertmanagers_descriptions_say_what_its_credentials_are():
    parameters = yaml_parse(render(REGISTRY))["Parameters"]
    assert "Authorization: Bearer <token>" in parameters["AlertmanagerBearerTokens"]["Description"]
    assert "user:password" in parameters["AlertmanagerBasicAuth"]["Description"]
    assert "no Authorization header at all" in parameters["AlertmanagerAllowUnsigned"]["Description"]
    # Either credential alone turns Alertmanager on, so neither says that its being empty turns it off.
    for name in ("AlertmanagerBearerTokens", "AlertmanagerBasicAuth"):
        assert "Empty = off." not in parameters[name]["Description"]
    assert "signed" not in yaml_parse(render(REGISTRY))["Outputs"]["AlertmanagerWebhookUrl"]["Description"]


def test_alertmanager_adds_its_credentials_and_nothing_else():
    before = yaml_parse(render(without("alertmanager")))
    after = yaml_parse(render(REGISTRY))
    rest, parts = provider_parts(after, "Alertmanager", "ALERTMANAGER")
    assert rest == provider_parts(before, "Alertmanager", "ALERTMANAGER")[0]
    credentials = ("BearerTokens", "BasicAuth")
    assert set(parts["Parameters"]) == {"AlertmanagerAllowUnsigned", *(f"Alertmanager{c}{arn}" for c in credentials
                                                                       for arn in ("", "Arn"))}
    assert set(parts["Variables"]) == {"ALERTMANAGER_ALLOW_UNSIGNED", "ALERTMANAGER_BEARER_TOKENS_ARN",
                                       "ALERTMANAGER_BASIC_AUTH_ARN"}
    assert set(parts["Rules"]) == {f"Alertmanager{c}OneSource" for c in credentials}
    assert set(parts["Resources"]) == {f"Alertmanager{c}Secret" for c in credentials}
    assert len(parts["Policies"]) == 4


def test_grafana_adds_its_timestamp_and_header_parameters_and_nothing_else():
    before = yaml_parse(render(without("grafana")))
    after = yaml_parse(render(REGISTRY))
    rest, parts = provider_parts(after, "Grafana", "GRAFANA")
    assert rest == provider_parts(before, "Grafana", "GRAFANA")[0]
    assert set(parts["Parameters"]) == {"Grafana" + s for s in ("WebhookSecrets", "WebhookSecretsArn", "AllowUnsigned",
                                                                "RequireTimestamp", "SignatureHeader", "TimestampHeader")}
    assert set(parts["Variables"]) == {"GRAFANA_" + s for s in ("ALLOW_UNSIGNED", "WEBHOOK_SECRETS_ARN", "REQUIRE_TIMESTAMP",
                                                                "SIGNATURE_HEADER", "TIMESTAMP_HEADER")}


def test_only_a_provider_with_an_optional_timestamp_gets_the_timestamp_and_header_parameters():
    template = yaml_parse(render(REGISTRY))
    for provider in REGISTRY:
        stem = "".join(word.capitalize() for word in provider["slug"].split("-"))
        offered = {stem + s in template["Parameters"] for s in ("RequireTimestamp", "SignatureHeader", "TimestampHeader")}
        assert offered == {provider["optional_timestamp"]}, provider["slug"]
    assert [p["slug"] for p in REGISTRY if p["optional_timestamp"]] == ["grafana"]


def test_grafanas_parameters_default_to_a_required_timestamp_and_grafanas_header_names():
    parameters = yaml_parse(render(REGISTRY))["Parameters"]
    require = parameters["GrafanaRequireTimestamp"]
    assert (require["Default"], require["AllowedValues"]) == ("true", ["false", "true"])
    # The secure default refuses Grafana's default contact point (no timestamp header): say how to set it.
    for part in ("set the contact point's HMAC timestamp header to X-Grafana-Alerting-Timestamp",
                 "401 timestamp_required", "GRAFANA_REQUIRE_TIMESTAMP"):
        assert part in require["Description"]
    for which, default in (("Signature", "X-Grafana-Alerting-Signature"), ("Timestamp", "X-Grafana-Alerting-Timestamp")):
        parameter = parameters[f"Grafana{which}Header"]
        assert parameter["Default"] == ""
        assert f"Empty = {default}." in parameter["Description"]
        assert f"GRAFANA_{which.upper()}_HEADER" in parameter["Description"]
        pattern = parameter["AllowedPattern"]
        for name in ("", default, "X-Signature", "x_sig.1"):
            assert re.fullmatch(pattern, name), name
        for name in ("X Signature", "X-Sig:", "X-Sig\n"):
            assert not re.fullmatch(pattern, name), name


def test_grafanas_variables_reach_the_function_only_when_they_say_something():
    template = yaml_parse(render(REGISTRY))
    # Unused, Grafana gets no variable at all, though GrafanaRequireTimestamp defaults to "true".
    assert not [name for name in environment(template) if name.startswith("GRAFANA_")]
    secret = {"GrafanaWebhookSecrets": "test-grafana-secret"}
    # Configured by its secret, its ARN or AllowUnsigned, it is told to require the timestamp, or not.
    for configured in (secret, {"GrafanaWebhookSecretsArn": ARN.format("grafana")}, {"GrafanaAllowUnsigned": "true"}):
        assert environment(template, **configured)["GRAFANA_REQUIRE_TIMESTAMP"] == "true"
        assert environment(template, **configured, GrafanaRequireTimestamp="false")["GRAFANA_REQUIRE_TIMESTAMP"] == "false"
    # The header names only when given; empty keeps the function's defaults.
    assert not {"GRAFANA_SIGNATURE_HEADER", "GRAFANA_TIMESTAMP_HEADER"} & set(environment(template, **secret))
    renamed = environment(template, **secret, GrafanaSignatureHeader="X-Sig", GrafanaTimestampHeader="X-Time")
    assert (renamed["GRAFANA_SIGNATURE_HEADER"], renamed["GRAFANA_TIMESTAMP_HEADER"]) == ("X-Sig", "X-Time")


def test_with_every_parameter_at_its_default_no_provider_gets_a_variable():
    template = yaml_parse(render(REGISTRY))
    prefixes = tuple(p["env_prefix"] + "_" for p in REGISTRY)
    assert [name for name in environment(template) if name.startswith(prefixes)] == []


def test_alert_labels_reach_the_function_only_when_given():
    template = yaml_parse(render(REGISTRY))
    parameter = template["Parameters"]["AlertLabels"]
    assert parameter["Default"] == "" and "ALERT_LABELS" in parameter["Description"]
    assert "ALERT_LABELS" not in environment(template)
    assert environment(template, AlertLabels="team,cluster")["ALERT_LABELS"] == "team,cluster"
    # What src/config.rs accepts: up to 10 names, none empty or with "=" in it.
    for labels in ("", "team", "team,cluster", "team, cluster", "alert name", ",".join("abcdefghij")):
        assert re.fullmatch(parameter["AllowedPattern"], labels), labels
    for labels in (",".join("abcdefghijk"), "team,", ",team", "team,,cluster", "team=orders", " team"):
        assert not re.fullmatch(parameter["AllowedPattern"], labels), labels


def test_the_docs_name_the_secret_parameters_the_template_has():
    """docs/deploying.md's `parameters Secrets` list (scripts/gen-docs) names each credential's
    parameter as this script does."""
    loader = importlib.machinery.SourceFileLoader("gen_docs", str(ROOT / "scripts" / "gen-docs"))
    gen_docs = importlib.util.module_from_spec(importlib.util.spec_from_loader("gen_docs", loader))
    loader.exec_module(gen_docs)
    listed = gen_docs.render("parameters", "Secrets", REGISTRY, ROOT / "docs" / "deploying.md")
    template = yaml_parse(render(REGISTRY))
    assert re.findall(r"`([A-Za-z]+)`", listed) == [p for p in secret_parameters(template)
                                                   if not p.endswith("QuerySecrets")]
    assert "`AlertmanagerBearerTokens`, `AlertmanagerBasicAuth`" in (ROOT / "docs" / "deploying.md").read_text()


@pytest.mark.parametrize("change, complaint", [
    ({"secret_variables": [{"variable": "ALERTMANAGER_TOKENS", "kind": "magic"}]}, "kind 'magic'"),
    ({"secret_variables": [{"variable": "PROMETHEUS_TOKENS", "kind": "bearer"}]}, "not of the form ALERTMANAGER_NAME"),
    ({"secret_variables": [{"variable": "ALERTMANAGER_QUERY_SECRETS", "kind": "signing"}]}, "offered by 'query_secrets'"),
    ({"secret_variables": [{"variable": "ALERTMANAGER_A", "kind": "basic"}] * 2}, "ALERTMANAGER_A more than once"),
    ({"secret_variables": []}, "'secret_variables' must be a non-empty JSON array"),
    ({"optional_timestamp": True, "signed_headers": []}, "'optional_timestamp' needs the timestamp header"),
    ({"optional_timestamp": "yes"}, "'optional_timestamp' must be true or false"),
    ({"secret_variables": [{"variable": "ALERTMANAGER_ALLOW_UNSIGNED", "kind": "bearer"}]},
     "parameter AlertmanagerAllowUnsigned twice"),
])
def test_credential_variables_it_cannot_generate_from_are_refused(change, complaint):
    alertmanager = next(p for p in REGISTRY if p["slug"] == "alertmanager")
    with pytest.raises(gen_template.SpecError, match=re.escape(complaint)):
        gen_template.providers_from(without("alertmanager") + [{**alertmanager, **change}])
