"""Which S3 the local backend picks, in the documented order."""

from scones.backends.local.s3_choice import S3Endpoint, choose_s3_endpoint, localstack_is_healthy

never = lambda url: False  # noqa: E731
always = lambda url: True  # noqa: E731


def test_explicit_wins():
    env = {"AWS_ENDPOINT_URL_S3": "http://env:1"}
    assert choose_s3_endpoint("http://x:9", env, always, always) == S3Endpoint("http://x:9", "explicit")


def test_service_variable_before_global_variable():
    env = {"AWS_ENDPOINT_URL_S3": "http://s3:1", "AWS_ENDPOINT_URL": "http://all:2"}
    assert choose_s3_endpoint(None, env, always, always) == S3Endpoint("http://s3:1", "environment")
    assert choose_s3_endpoint(None, {"AWS_ENDPOINT_URL": "http://all:2"}, always, always).url == "http://all:2"


def test_localstack_then_scones_up_then_embedded():
    assert choose_s3_endpoint(None, {}, always, always) == S3Endpoint("http://localhost:4566", "localstack")
    assert choose_s3_endpoint(None, {"LOCALSTACK_HOST": "ls:4999"}, always, never).url == "http://ls:4999"
    assert choose_s3_endpoint(None, {}, never, always) == S3Endpoint("http://127.0.0.1:4567", "scones-up")
    assert choose_s3_endpoint(None, {}, never, never) is None


def test_health_probe_of_a_server_that_is_not_localstack(s3_endpoint_url):
    # The embedded S3 answers HTTP but has no /_localstack/health with S3 in it.
    if "4566" in s3_endpoint_url:
        assert localstack_is_healthy(s3_endpoint_url)
    else:
        assert not localstack_is_healthy(s3_endpoint_url)
