// Genesys's official JavaScript SDK (npm `purecloud-platform-client-v2`), unchanged, against the
// simulator: the SDK's own base-URL handling ("gateway"), login, request building and response
// handling must all work, for every endpoint the simulator serves (queues, single queue, members,
// observations with detailMetrics, both EWTs, tokens/me, organizations/me, notifications with a
// live event, callbacks). Run by crates/genesys-sim/tests/official_sdk.rs, which starts the
// simulator and passes its address; usage: node check.mjs http://127.0.0.1:PORT
//
// Each step prints one line; any failure exits non-zero with the step that failed.
import platformClient from 'purecloud-platform-client-v2';
import WebSocket from 'ws';

const base = new URL(process.argv[2] ?? 'http://127.0.0.1:9090');
const step = async (name, run) => {
  try {
    const result = await run();
    console.log(`ok   ${name}`);
    return result;
  } catch (error) {
    const detail = error?.body ? JSON.stringify(error.body) : (error?.message ?? String(error));
    console.error(`FAIL ${name}: ${error?.status ?? ''} ${detail}`);
    process.exit(1);
  }
};
const expect = (condition, message) => {
  if (!condition) throw new Error(message);
};
const control = async (method, path, body) => {
  const response = await fetch(new URL(path, base), {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${path} answered ${response.status}`);
  return response.status === 204 ? null : response.json();
};

const org = await step('read the demo org from the control API', () => control('GET', '/__sim/org'));
const queueId = org.queues[0].id;

const client = platformClient.ApiClient.instance;
client.setGateway({
  host: base.hostname,
  protocol: base.protocol.replace(':', ''),
  port: Number(base.port),
});

await step('loginClientCredentialsGrant', async () => {
  const auth = await client.loginClientCredentialsGrant(org.clientId, org.clientSecret);
  expect(typeof auth.accessToken === 'string' && auth.accessToken.length > 0, 'no access token');
});

const routing = new platformClient.RoutingApi();
await step('RoutingApi.getRoutingQueues (paged)', async () => {
  const page = await routing.getRoutingQueues({ pageSize: 1, pageNumber: 1 });
  expect(page.entities.length === 1, `pageSize 1 gave ${page.entities.length} entities`);
  expect(page.total === org.queues.length, `total ${page.total}, org has ${org.queues.length}`);
});

await step('RoutingApi.getRoutingQueues (id list, sortOrder desc)', async () => {
  // The SDK sends a list parameter comma-joined.
  const ids = org.queues.slice(0, 2).map((q) => q.id);
  const page = await routing.getRoutingQueues({ id: ids, sortOrder: 'desc' });
  const names = page.entities.map((q) => q.name);
  const expected = org.queues.slice(0, 2).map((q) => q.name).sort().reverse();
  expect(JSON.stringify(names) === JSON.stringify(expected), `names ${names}, expected ${expected}`);
});

await step('RoutingApi.getRoutingQueue', async () => {
  const queue = await routing.getRoutingQueue(queueId);
  expect(queue.id === queueId && queue.name === org.queues[0].name, `queue ${JSON.stringify(queue)}`);
});

await control('PUT', `/__sim/queues/${queueId}/state`, {
  agents: { idle: 0, busy: 2, offQueue: 1 },
  waiting: { voice: 3, callback: 1 },
});

await step('RoutingApi.getRoutingQueueMembers', async () => {
  const members = await routing.getRoutingQueueMembers(queueId, { pageSize: 2 });
  expect(members.entities.length === 2 && members.nextUri, `members ${JSON.stringify(members)}`);
  expect(members.entities.every((m) => m.user?.id === m.id && m.routingStatus?.status), 'member shape');
});

await step('TokensApi.getTokensMe', async () => {
  const me = await new platformClient.TokensApi().getTokensMe();
  expect(me.OAuthClient?.id === org.clientId, `token info ${JSON.stringify(me)}`);
});

await step('OrganizationApi.getOrganizationsMe', async () => {
  const me = await new platformClient.OrganizationApi().getOrganizationsMe();
  expect(me.id && me.name && me.version, `organization ${JSON.stringify(me)}`);
});

await step('AnalyticsApi.postAnalyticsQueuesObservationsQuery', async () => {
  const response = await new platformClient.AnalyticsApi().postAnalyticsQueuesObservationsQuery({
    filter: {
      type: 'or',
      predicates: [{ type: 'dimension', dimension: 'queueId', operator: 'matches', value: queueId }],
    },
    metrics: ['oOnQueueUsers', 'oOffQueueUsers', 'oWaiting', 'oInteracting'],
    detailMetrics: ['oWaiting'],
  });
  const voice = response.results.find((r) => r.group.queueId === queueId && r.group.mediaType === 'voice');
  expect(voice, 'no voice row');
  const waiting = voice.data.find((d) => d.metric === 'oWaiting');
  expect(waiting?.stats?.count === 3, `voice oWaiting ${JSON.stringify(waiting)}`);
  expect(waiting.observations?.length === 3, `observations ${JSON.stringify(waiting.observations)}`);
  expect(waiting.observations.every((o) => o.observationDate && o.conversationId), 'observation shape');
});

await step('RoutingApi.getRoutingQueueEstimatedwaittime', async () => {
  const ewt = await routing.getRoutingQueueEstimatedwaittime(queueId);
  expect(Array.isArray(ewt.results), 'no results array');
});

await step('RoutingApi.getRoutingQueueMediatypeEstimatedwaittime (call)', async () => {
  const ewt = await routing.getRoutingQueueMediatypeEstimatedwaittime(queueId, 'call');
  const seconds = ewt.results?.[0]?.estimatedWaitTimeSeconds;
  expect(Number.isInteger(seconds) && seconds > 0, `EWT ${JSON.stringify(ewt)}`);
});

const notifications = new platformClient.NotificationsApi();
const channel = await step('NotificationsApi.postNotificationsChannels', async () => {
  const created = await notifications.postNotificationsChannels();
  expect(created.id && created.connectUri && created.expires, `channel ${JSON.stringify(created)}`);
  return created;
});

const topic = `v2.analytics.queues.${queueId}.observations`;
await step('NotificationsApi.putNotificationsChannelSubscriptions', async () => {
  const topics = await notifications.putNotificationsChannelSubscriptions(channel.id, [{ id: topic }]);
  expect(topics.entities.some((t) => t.id === topic), `subscriptions ${JSON.stringify(topics)}`);
});

await step('NotificationsApi.headNotificationsChannel', () => notifications.headNotificationsChannel(channel.id));

await step('an observation event on connectUri after a change', async () => {
  const socket = new WebSocket(channel.connectUri);
  const event = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 5 s')), 5000);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      const metrics = message.eventBody?.data?.[0]?.metrics ?? [];
      if (message.topicName === topic && metrics.some((m) => m.metric === 'oWaiting' && m.stats?.count === 5)) {
        clearTimeout(timer);
        resolve(message);
      }
    });
    socket.on('error', reject);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  await control('PUT', `/__sim/queues/${queueId}/state`, {
    agents: { idle: 0, busy: 2, offQueue: 1 },
    waiting: { voice: 5 },
  });
  await event;
  socket.close();
});

const callback = await step('ConversationsApi.postConversationsCallbacks', async () => {
  const created = await new platformClient.ConversationsApi().postConversationsCallbacks({
    routingData: { queueId },
    callbackNumbers: ['+13175550123'],
    callbackUserName: 'SDK Check',
  });
  expect(created.conversation?.id, `response ${JSON.stringify(created)}`);
  return created;
});

await step('ConversationsApi.getConversationsCallback', async () => {
  const conversation = await new platformClient.ConversationsApi().getConversationsCallback(
    callback.conversation.id,
  );
  expect(conversation.id === callback.conversation.id, 'another conversation came back');
});

await step('a 429 reaches the caller (this SDK does not retry), the next call succeeds', async () => {
  await control('POST', '/__sim/faults', {
    route: 'GET /api/v2/routing/queues/{queueId}', status: 429, retryAfter: 1, times: 1,
  });
  const refused = await routing.getRoutingQueue(queueId).then(() => null, (error) => error);
  expect(refused?.status === 429, `expected a 429, got ${JSON.stringify(refused)}`);
  // It rejects with Genesys's ErrorBody itself.
  expect(refused.code === 'too.many.requests.retry.after', `error ${JSON.stringify(refused)}`);
  const queue = await routing.getRoutingQueue(queueId);
  expect(queue.id === queueId, 'the retry by hand failed');
});

console.log('official SDK: all steps passed');
