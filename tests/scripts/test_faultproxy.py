"""scripts/faultproxy.py in front of a real moto: each fault reaches an AWS SDK (boto3, retries off) as
the failure it stands for, only the requests it matches, only as many times as asked; everything
else goes through to moto unchanged."""

import threading

import boto3
import botocore.config
import botocore.exceptions
import pytest

from faultproxy import FaultProxy
from runtime_api import local_moto

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2,
                                    read_timeout=2)


@pytest.fixture(scope="module")
def moto():
    with local_moto() as emulator:
        yield emulator


@pytest.fixture
def proxy(moto):
    with FaultProxy(moto.endpoint, "test") as proxy:
        yield proxy


def client(service, endpoint):
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1").client(service, endpoint_url=endpoint, config=NO_RETRIES)


def code_of(error: botocore.exceptions.ClientError) -> tuple[int, str]:
    return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]


def test_each_fault_fails_one_request_then_publishes_go_through(moto, proxy):
    sns = client("sns", proxy.endpoint)
    topic = moto.create_topic("proxied")
    for kind in ("refuse", "500", "throttle", "hang"):
        proxy.fail(kind, times=1, hang_seconds=4)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        sns.publish(TopicArn=topic, Message="1")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sns.publish(TopicArn=topic, Message="2")
    assert code_of(error.value) == (500, "InternalFailure")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sns.publish(TopicArn=topic, Message="3")
    assert code_of(error.value) == (400, "Throttling")
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        sns.publish(TopicArn=topic, Message="4")
    assert sns.publish(TopicArn=topic, Message="5")["MessageId"]
    assert [(r.action, r.topic_arn, r.outcome) for r in proxy.seen()] == [
        ("Publish", topic, outcome) for outcome in ("refuse", "500", "throttle", "hang", "forwarded 200")]
    assert proxy.succeeded("Publish", topic) == 1


def test_a_fault_on_topics_spares_the_others_until_healed(moto, proxy):
    sns = client("sns", proxy.endpoint)
    down, up = moto.create_topic("down"), moto.create_topic("up")
    proxy.fail("500", topics={down})
    for _ in range(3):
        assert sns.publish(TopicArn=up, Message="x")["MessageId"]
        with pytest.raises(botocore.exceptions.ClientError):
            sns.publish(TopicArn=down, Message="x")
    proxy.heal()
    assert sns.publish(TopicArn=down, Message="x")["MessageId"]
    assert (proxy.succeeded("Publish", up), proxy.succeeded("Publish", down)) == (3, 1)


def test_sqs_json_protocol_requests_are_read_and_failed_as_sqs_fails(moto, proxy):
    queue = moto.sqs.create_queue(QueueName="proxied")["QueueUrl"]
    sqs = client("sqs", proxy.endpoint)
    proxy.fail("throttle", actions={"SendMessage"}, times=1)
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sqs.send_message(QueueUrl=queue, MessageBody="x")
    assert code_of(error.value) == (400, "ThrottlingException")
    sqs.send_message(QueueUrl=queue, MessageBody="y")
    assert [(r.action, r.queue_url, r.outcome) for r in proxy.seen()] == [
        ("SendMessage", queue, "throttle"), ("SendMessage", queue, "forwarded 200")]
    assert [m["Body"] for m in moto.receive(queue)] == ["y"]


def test_dynamodb_requests_are_failed_with_dynamodbs_own_error_types(moto, proxy):
    """The DynamoDB SDKs read the code after the `#` of `__type`: a throttle is
    `ProvisionedThroughputExceededException` or `ThrottlingException`, a 500 `InternalServerError`."""
    moto.create_state_table("proxied-state")
    dynamodb = client("dynamodb", proxy.endpoint)
    key = {"pk": {"S": "alert#x"}, "sk": {"S": "state"}}
    proxy.fail("throttle", actions={"GetItem"}, times=1, code="ProvisionedThroughputExceededException")
    proxy.fail("throttle", actions={"GetItem"}, times=1)
    proxy.fail("500", actions={"GetItem"}, times=1)
    answers = []
    for _ in range(3):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            dynamodb.get_item(TableName="proxied-state", Key=key)
        answers.append(code_of(error.value))
    assert answers == [(400, "ProvisionedThroughputExceededException"), (400, "ThrottlingException"),
                       (500, "InternalServerError")]
    dynamodb.put_item(TableName="proxied-state", Item={**key, "v": {"N": "1"}})
    assert dynamodb.get_item(TableName="proxied-state", Key=key)["Item"]["v"] == {"N": "1"}
    assert [(r.action, r.outcome) for r in proxy.seen()] == [
        ("GetItem", "throttle"), ("GetItem", "throttle"), ("GetItem", "500"), ("PutItem", "forwarded 200"),
        ("GetItem", "forwarded 200")]


def test_an_unknown_fault_is_refused(proxy):
    with pytest.raises(ValueError):
        proxy.fail("slowly")


def test_requests_held_at_once_are_counted(moto, proxy):
    """`most_in_flight`: how many requests the proxy held together (slow ones overlap), since reset()."""
    sns = client("sns", proxy.endpoint)
    proxy.fail("slow", actions={"ListTopics"}, hang_seconds=1.0)
    calls = [threading.Thread(target=sns.list_topics) for _ in range(3)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert proxy.most_in_flight == 3
    # A client has its answer a moment before the proxy is done with the request.
    assert proxy.wait_idle()
    proxy.reset()
    assert proxy.most_in_flight == 0
    sns.list_topics()
    sns.list_topics()
    assert proxy.most_in_flight == 1
