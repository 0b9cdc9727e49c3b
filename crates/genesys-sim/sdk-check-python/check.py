"""Genesys's official Python SDK (PyPI `PureCloudPlatformClientV2`), unchanged, against the simulator.

Every endpoint the simulator serves is called through the SDK, pointed at the simulator only with
`configuration.host`. Each JSON answer must deserialise into the SDK's model, and its raw keys are
compared with the model's `attribute_map` at every level: a key the model does not know, a
required field that is missing, or an enum value the SDK does not know fails the step.

Run by crates/genesys-sim/tests/official_sdk.rs, which starts the simulator, prepares a virtual
environment with requirements.txt and passes the simulator's address:
    python check.py http://127.0.0.1:PORT
Each step prints one line; any failure exits non-zero naming the step.
"""

import datetime
import json
import sys
import time
import urllib.request

import PureCloudPlatformClientV2 as gc
import websocket
from PureCloudPlatformClientV2.rest import ApiException

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:9090"

# Fields the API definition marks required (the JavaScript SDK's typings keep them; the Python
# models do not), for the models the simulator answers with.
REQUIRED = {
    "User": ["version"],
    "OrgOAuthClient": ["name", "authorizedGrantType"],
    "Organization": ["version"],
    "ObservationValue": ["observationDate"],
    "EstimatedWaitTimePredictions": ["results"],
    "PredictionResults": ["formula", "estimatedWaitTimeSeconds"],
    "CreateCallbackResponse": ["conversation", "callbackIdentifiers"],
    "CallbackIdentifier": ["type", "id"],
    "Schedule": ["name", "start", "end"],
    "ScheduleGroup": ["name"],
    "EmergencyGroup": ["name"],
}
# The SDK's placeholder for an enum value it does not know.
UNKNOWN_ENUM = "outdated_sdk_version"

checked = []


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def step(name, run):
    started = time.monotonic()
    try:
        result = run()
    except ApiException as error:
        print(f"FAIL {name}: {error.status} {error.body}", file=sys.stderr)
        sys.exit(1)
    except Exception as error:  # noqa: BLE001 - any failure ends the check with its step
        print(f"FAIL {name}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"ok   {name} ({time.monotonic() - started:.2f} s)", flush=True)
    checked.append(name)
    return result


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def model_class(name):
    cls = getattr(gc, name, None)
    expect(cls is not None, f"the SDK has no model {name}")
    return cls


def check_value(value, swagger_type, where):
    """Compares raw JSON `value` with the SDK type `swagger_type`, recursively."""
    if value is None:
        return
    if swagger_type.startswith("list["):
        expect(isinstance(value, list), f"{where}: expected a list, got {value!r}")
        for index, item in enumerate(value):
            check_value(item, swagger_type[5:-1], f"{where}[{index}]")
    elif swagger_type.startswith("dict("):
        expect(isinstance(value, dict), f"{where}: expected an object, got {value!r}")
        inner = swagger_type[5:-1].split(",", 1)[1].strip()
        for key, item in value.items():
            check_value(item, inner, f"{where}.{key}")
    elif swagger_type in ("str", "datetime", "date", "LocalDateTime"):
        expect(isinstance(value, str), f"{where}: expected a string, got {value!r}")
    elif swagger_type == "int":
        expect(isinstance(value, int) and not isinstance(value, bool), f"{where}: expected an integer, got {value!r}")
    elif swagger_type == "float":
        expect(isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: expected a number, got {value!r}")
    elif swagger_type == "bool":
        expect(isinstance(value, bool), f"{where}: expected a boolean, got {value!r}")
    elif swagger_type == "object":
        pass
    else:
        check_model(value, swagger_type, where)


def check_model(value, name, where=None):
    """No key the model lacks, no required key missing, at every level."""
    where = where or name
    expect(isinstance(value, dict), f"{where}: expected a {name} object, got {value!r}")
    model = model_class(name)()
    types = {json_key: model.swagger_types[attr] for attr, json_key in model.attribute_map.items()}
    unknown = sorted(set(value) - set(types))
    expect(not unknown, f"{where}: fields {name} does not have: {unknown}")
    missing = [key for key in REQUIRED.get(name, []) if value.get(key) is None]
    expect(not missing, f"{where}: required fields of {name} missing: {missing}")
    for key, item in value.items():
        check_value(item, types[key], f"{where}.{key}")


def no_unknown_enums(model_object, where):
    text = json.dumps(model_object.to_dict(), default=str)
    expect(UNKNOWN_ENUM not in text, f"{where}: an enum value the SDK does not know: {text}")


def raw_json(api_client):
    data = api_client.last_response.data
    return json.loads(data.decode() if isinstance(data, bytes) else data)


def call(api_client, model_name, run):
    """Runs an SDK call; checks its deserialised result and its raw JSON against the model."""
    result = run()
    expect(isinstance(result, model_class(model_name)), f"got {type(result).__name__}, not {model_name}")
    no_unknown_enums(result, model_name)
    body = raw_json(api_client)
    check_model(body, model_name)
    return result, body


def api_error(run, status):
    """Runs a call that must fail with `status` and a Genesys ErrorBody."""
    try:
        run()
    except ApiException as error:
        expect(error.status == status, f"status {error.status}, expected {status}: {error.body}")
        body = json.loads(error.body)
        check_model(body, "ErrorBody")
        expect(body.get("status") == status and body.get("code"), f"error body {body}")
        return body
    raise CheckFailed(f"no error, expected {status}")


def main():
    org = step("read the demo org from the control API", lambda: control("GET", "/__sim/org"))
    queues = {q["name"]: q["id"] for q in org["queues"]}
    queue_id = queues["Sales"]

    gc.configuration.host = BASE
    api_client = step(
        "ApiClient.get_client_credentials_token",
        lambda: gc.api_client.ApiClient().get_client_credentials_token(org["clientId"], org["clientSecret"]),
    )
    routing = gc.RoutingApi(api_client)

    def queue_page():
        page, _ = call(api_client, "QueueEntityListing", lambda: routing.get_routing_queues(page_size=1, page_number=2))
        expect(len(page.entities) == 1 and page.total == len(queues), f"page {page.to_dict()}")
        expect(page.entities[0].name == "Sales", f"second by name: {page.entities[0].name}")

    step("RoutingApi.get_routing_queues (paged)", queue_page)

    def queues_by_id():
        wanted = [queues["Support"], queues["Billing"]]
        page, _ = call(api_client, "QueueEntityListing", lambda: routing.get_routing_queues(id=wanted, sort_order="desc"))
        expect([q.name for q in page.entities] == ["Support", "Billing"], f"{[q.name for q in page.entities]}")

    step("RoutingApi.get_routing_queues (id list, sortOrder desc)", queues_by_id)

    def one_queue():
        queue, _ = call(api_client, "Queue", lambda: routing.get_routing_queue(queue_id))
        expect(queue.id == queue_id and queue.name == "Sales", f"{queue.to_dict()}")

    step("RoutingApi.get_routing_queue", one_queue)

    control("PUT", f"/__sim/queues/{queue_id}/state", {
        "agents": {"idle": 0, "busy": 2, "offQueue": 1},
        "waiting": {"voice": 3},
        "interacting": {"voice": 2},
    })

    def members():
        page, _ = call(api_client, "QueueMemberEntityListing", lambda: routing.get_routing_queue_members(queue_id, page_size=2))
        expect(len(page.entities) == 2 and page.next_uri, f"{page.to_dict()}")
        statuses = {m.routing_status.status for m in page.entities}
        expect(statuses <= {"INTERACTING", "OFF_QUEUE"}, f"statuses {statuses}")

    step("RoutingApi.get_routing_queue_members (paged)", members)

    def observations():
        query = gc.QueueObservationQuery()
        query.filter = gc.QueueObservationQueryFilter()
        query.filter.type = "or"
        predicate = gc.QueueObservationQueryPredicate()
        predicate.type, predicate.dimension, predicate.operator, predicate.value = "dimension", "queueId", "matches", queue_id
        query.filter.predicates = [predicate]
        query.metrics = ["oOnQueueUsers", "oOffQueueUsers", "oUserRoutingStatuses", "oUserPresences",
                         "oMemberUsers", "oActiveUsers", "oWaiting", "oInteracting", "oAlerting"]
        query.detail_metrics = ["oWaiting", "oInteracting"]
        api = gc.AnalyticsApi(api_client)
        response, _ = call(api_client, "QueueObservationQueryResponse", lambda: api.post_analytics_queues_observations_query(query))
        voice = next(r for r in response.results if r.group.get("mediaType") == "voice")
        waiting = next(d for d in voice.data if d.metric == "oWaiting")
        expect(waiting.stats.count == 3 and len(waiting.observations) == 3, f"{waiting.to_dict()}")
        expect(all(isinstance(o.observation_date, datetime.datetime) for o in waiting.observations), "dates")

    step("AnalyticsApi.post_analytics_queues_observations_query (detailMetrics)", observations)

    def ewt():
        predictions, _ = call(api_client, "EstimatedWaitTimePredictions", lambda: routing.get_routing_queue_estimatedwaittime(queue_id))
        expect(predictions.results and predictions.results[0].estimated_wait_time_seconds > 0, f"{predictions.to_dict()}")

    step("RoutingApi.get_routing_queue_estimatedwaittime", ewt)

    def media_ewt():
        predictions, _ = call(api_client, "EstimatedWaitTimePredictions",
                              lambda: routing.get_routing_queue_mediatype_estimatedwaittime(queue_id, "call"))
        expect(predictions.results[0].intent == "CALL", f"{predictions.to_dict()}")

    step("RoutingApi.get_routing_queue_mediatype_estimatedwaittime (call)", media_ewt)

    def token_info():
        info, _ = call(api_client, "TokenInfo", lambda: gc.TokensApi(api_client).get_tokens_me())
        expect(info.o_auth_client.id == org["clientId"], f"{info.to_dict()}")
        return info

    info = step("TokensApi.get_tokens_me", token_info)

    def organization():
        me, _ = call(api_client, "Organization", lambda: gc.OrganizationApi(api_client).get_organizations_me())
        expect(me.id == info.organization.id, f"{me.to_dict()} vs {info.organization.to_dict()}")

    step("OrganizationApi.get_organizations_me", organization)

    notifications = gc.NotificationsApi(api_client)
    channel, _ = step("NotificationsApi.post_notifications_channels",
                      lambda: call(api_client, "Channel", lambda: notifications.post_notifications_channels()))
    topic = f"v2.analytics.queues.{queue_id}.observations"

    def subscribe():
        wanted = gc.ChannelTopic()
        wanted.id = topic
        listing, _ = call(api_client, "ChannelTopicEntityListing",
                          lambda: notifications.put_notifications_channel_subscriptions(channel.id, [wanted]))
        expect([t.id for t in listing.entities] == [topic], f"{listing.to_dict()}")

    step("NotificationsApi.put_notifications_channel_subscriptions", subscribe)

    def add_subscription():
        other = gc.ChannelTopic()
        other.id = f"v2.analytics.queues.{queues['Billing']}.observations"
        listing, _ = call(api_client, "ChannelTopicEntityListing",
                          lambda: notifications.post_notifications_channel_subscriptions(channel.id, [other]))
        expect(len(listing.entities) == 2, f"{listing.to_dict()}")

    step("NotificationsApi.post_notifications_channel_subscriptions", add_subscription)
    step("NotificationsApi.get_notifications_channel_subscriptions",
         lambda: call(api_client, "ChannelTopicEntityListing", lambda: notifications.get_notifications_channel_subscriptions(channel.id)))
    step("NotificationsApi.get_notifications_channels",
         lambda: call(api_client, "ChannelEntityListing", lambda: notifications.get_notifications_channels()))
    step("NotificationsApi.head_notifications_channel", lambda: notifications.head_notifications_channel(channel.id))

    def event_on_socket():
        socket = websocket.create_connection(channel.connect_uri, timeout=5)
        try:
            control("PUT", f"/__sim/queues/{queue_id}/state", {"agents": {"busy": 2}, "waiting": {"voice": 5}})
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                message = json.loads(socket.recv())
                if message.get("topicName") != topic:
                    continue
                check_model(message["eventBody"], "StatEventQueueTopicStatsNotification", "eventBody")
                metrics = message["eventBody"]["data"][0]["metrics"]
                if any(m["metric"] == "oWaiting" and m["stats"]["count"] == 5 for m in metrics):
                    return
            raise CheckFailed("no event with 5 waiting within 5 s")
        finally:
            socket.close()

    step("an observation event on connectUri (websocket-client)", event_on_socket)
    step("NotificationsApi.delete_notifications_channel_subscriptions",
         lambda: notifications.delete_notifications_channel_subscriptions(channel.id))

    conversations = gc.ConversationsApi(api_client)

    def create_callback():
        command = gc.CreateCallbackCommand()
        command.routing_data = gc.RoutingData()
        command.routing_data.queue_id = queue_id
        command.callback_numbers = ["+13175550123"]
        command.callback_user_name = "SDK Check"
        command.callback_scheduled_time = datetime.datetime(2030, 1, 2, 4, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
        command.data = {"source": "python-sdk-check"}
        created, _ = call(api_client, "CreateCallbackResponse", lambda: conversations.post_conversations_callbacks(command))
        return created

    created = step("ConversationsApi.post_conversations_callbacks", create_callback)

    def read_callback():
        conversation, body = call(api_client, "CallbackConversation",
                                  lambda: conversations.get_conversations_callback(created.conversation.id))
        customer = next(p for p in body["participants"] if p["purpose"] == "customer")
        expect(customer["attributes"] == {"source": "python-sdk-check"}, f"attributes {customer.get('attributes')}")
        expect(customer["callbackScheduledTime"] == "2030-01-02T03:04:05.000Z", f"{customer['callbackScheduledTime']}")
        expect(conversation.id == created.conversation.id, "another conversation came back")

    step("ConversationsApi.get_conversations_callback", read_callback)

    architect = gc.ArchitectApi(api_client)

    def demo_schedule_group():
        group, _ = call(api_client, "ScheduleGroup", lambda: architect.get_architect_schedulegroup(org["scheduleGroupId"]))
        expect(group.time_zone == "Europe/London" and len(group.holiday_schedules) == 1, f"{group.to_dict()}")
        return group

    group = step("ArchitectApi.get_architect_schedulegroup (demo)", demo_schedule_group)

    def demo_schedule():
        schedule, body = call(api_client, "Schedule", lambda: architect.get_architect_schedule(group.open_schedules[0].id))
        expect(body["rrule"] == "FREQ=DAILY" and body["start"] == "2024-01-01T00:00:00.000", f"{body}")

    step("ArchitectApi.get_architect_schedule (demo)", demo_schedule)
    step("ArchitectApi.get_architect_emergencygroup (demo)",
         lambda: call(api_client, "EmergencyGroup", lambda: architect.get_architect_emergencygroup(org["emergencyGroupId"])))

    def create_hours():
        schedule = gc.Schedule()
        schedule.name = "SDK weekdays"
        schedule.start = "2026-01-05T09:00:00.000"
        schedule.end = "2026-01-05T17:00:00.000"
        schedule.rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
        created, _ = call(api_client, "Schedule", lambda: architect.post_architect_schedules(schedule))
        new_group = gc.ScheduleGroup()
        new_group.name = "SDK hours"
        new_group.time_zone = "America/Chicago"
        reference = gc.DomainEntityRef()
        reference.id = created.id
        new_group.open_schedules = [reference]
        made, _ = call(api_client, "ScheduleGroup", lambda: architect.post_architect_schedulegroups(new_group))
        expect(made.open_schedules[0].name == "SDK weekdays", f"{made.to_dict()}")
        made.name = "SDK hours, renamed"
        replaced, _ = call(api_client, "ScheduleGroup", lambda: architect.put_architect_schedulegroup(made.id, made))
        expect(replaced.version == 2, f"{replaced.to_dict()}")
        emergency = gc.EmergencyGroup()
        emergency.name = "SDK emergency"
        emergency.enabled = True
        made_emergency, _ = call(api_client, "EmergencyGroup", lambda: architect.post_architect_emergencygroups(emergency))
        expect(made_emergency.enabled is True, f"{made_emergency.to_dict()}")

    step("ArchitectApi.post_architect_schedules, post_architect_schedulegroups, put_architect_schedulegroup, post_architect_emergencygroups",
         create_hours)

    def architect_listings():
        schedules, _ = call(api_client, "ScheduleEntityListing", lambda: architect.get_architect_schedules(page_size=2, page_number=2))
        expect(schedules.total == 4 and len(schedules.entities) == 2, f"{schedules.to_dict()}")
        groups, _ = call(api_client, "ScheduleGroupEntityListing", lambda: architect.get_architect_schedulegroups(name="SDK*"))
        expect([g.name for g in groups.entities] == ["SDK hours, renamed"], f"{groups.to_dict()}")
        emergencies, _ = call(api_client, "EmergencyGroupListing", lambda: architect.get_architect_emergencygroups(sort_order="desc"))
        expect([g.name for g in emergencies.entities] == ["SDK emergency", "Demo emergency"], f"{emergencies.to_dict()}")

    step("ArchitectApi.get_architect_schedules, get_architect_schedulegroups, get_architect_emergencygroups (listings)",
         architect_listings)

    # Errors: each a Genesys ErrorBody the SDK's model reads.
    unknown = "00000000-0000-4000-8000-000000000000"
    step("404 ErrorBody: get_routing_queue (unknown queue)", lambda: api_error(lambda: routing.get_routing_queue(unknown), 404))
    step("404 ErrorBody: get_routing_queue_members (unknown queue)",
         lambda: api_error(lambda: routing.get_routing_queue_members(unknown), 404))
    step("400 ErrorBody: get_routing_queue_mediatype_estimatedwaittime (bad media type)",
         lambda: api_error(lambda: routing.get_routing_queue_mediatype_estimatedwaittime(queue_id, "fax"), 400))
    step("404 ErrorBody: get_architect_schedulegroup (unknown)",
         lambda: api_error(lambda: architect.get_architect_schedulegroup(unknown), 404))

    def unknown_reference():
        bad = gc.ScheduleGroup()
        bad.name = "Names a schedule that does not exist"
        reference = gc.DomainEntityRef()
        reference.id = unknown
        bad.open_schedules = [reference]
        api_error(lambda: architect.post_architect_schedulegroups(bad), 400)

    step("400 ErrorBody: post_architect_schedulegroups (unknown schedule)", unknown_reference)
    step("404 ErrorBody: get_conversations_callback (unknown)",
         lambda: api_error(lambda: conversations.get_conversations_callback(unknown), 404))

    def bad_query():
        query = gc.QueueObservationQuery()
        query.metrics = ["oWaiting"]
        api_error(lambda: gc.AnalyticsApi(api_client).post_analytics_queues_observations_query(query), 400)

    step("400 ErrorBody: post_analytics_queues_observations_query (no filter)", bad_query)

    def bad_token():
        stranger = gc.api_client.ApiClient()
        stranger.access_token = "not-a-token"
        api_error(lambda: gc.RoutingApi(stranger).get_routing_queues(), 401)

    step("401 ErrorBody: a token the simulator never issued", bad_token)

    def wrong_secret():
        # The login answers in OAuth's error form, not an ErrorBody.
        try:
            gc.api_client.ApiClient().get_client_credentials_token(org["clientId"], "wrong-secret")
        except ApiException as error:
            body = json.loads(error.body)
            expect(error.status == 401 and body.get("error") == "invalid_client", f"{error.status} {body}")
            return
        raise CheckFailed("a wrong secret was accepted")

    step("401 invalid_client: get_client_credentials_token with a wrong secret", wrong_secret)

    def retried_429():
        control("DELETE", "/__sim/requests")
        control("POST", "/__sim/faults", {"route": "GET /api/v2/routing/queues", "status": 429, "retryAfter": 1, "times": 1})
        call(api_client, "QueueEntityListing", lambda: routing.get_routing_queues())
        statuses = [e["status"] for e in control("GET", "/__sim/requests")["entries"] if e["route"] == "GET /api/v2/routing/queues"]
        expect(statuses == [429, 200], f"statuses {statuses}")

    step("a 429 with Retry-After is retried by the SDK itself", retried_429)
    print(f"official Python SDK: all steps passed ({len(checked)} steps)")


if __name__ == "__main__":
    main()
