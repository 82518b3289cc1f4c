// A sale on credit, a payment, and the overdue list, typed end to end.
import { graphql } from "./gql";
import type { TypedDocumentString } from "./gql/graphql";

const Sale = graphql(`
  mutation Sale($input: PurchaseInput!) {
    purchase(input: $input) {
      __typename
      ... on PurchaseCompleted { order { id number total createdAt } customer { balance } }
      ... on InsufficientStock { message }
      ... on CreditLimitExceeded { message }
    }
  }
`);

const RecordPayment = graphql(`
  mutation RecordPayment($input: RecordPaymentInput!) {
    recordPayment(input: $input) {
      __typename
      ... on PaymentRecorded { payment { id amount } customer { balance } }
      ... on PaymentExceedsBalance { message }
    }
  }
`);

const Overdue = graphql(`
  query Overdue($asOf: DateTime) {
    overdueCustomers(asOf: $asOf) {
      edges { node { customer { id name } overdueAmount daysOverdue } }
    }
  }
`);

export async function request<Result, Variables>(
  url: string,
  apiKey: string,
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const answer = (await response.json()) as { data?: Result; errors?: { message: string }[] };
  if (answer.errors?.length || !answer.data) {
    throw new Error(answer.errors?.map((e) => e.message).join("; ") ?? `HTTP ${response.status}`);
  }
  return answer.data;
}

export async function tour(url: string, apiKey: string, customerId: string, productId: string) {
  const sale = await request(url, apiKey, Sale, {
    input: {
      customerId,
      items: [{ productId, quantity: 2 }],
      idempotencyKey: crypto.randomUUID(),
    },
  });
  if (sale.purchase.__typename !== "PurchaseCompleted") throw new Error(sale.purchase.__typename);
  const total: string = sale.purchase.order.total; // Money: a decimal string
  const soldAt: Date = new Date(sale.purchase.order.createdAt); // DateTime: ISO 8601

  const paid = await request(url, apiKey, RecordPayment, {
    input: { customerId, amount: "5.00", method: "CASH", idempotencyKey: crypto.randomUUID() },
  });
  if (paid.recordPayment.__typename !== "PaymentRecorded") {
    throw new Error(paid.recordPayment.__typename);
  }
  const balance: string = paid.recordPayment.customer.balance;

  const in45Days = new Date(Date.now() + 45 * 86_400_000).toISOString();
  const overdue = await request(url, apiKey, Overdue, { asOf: in45Days });
  const owing = overdue.overdueCustomers.edges.map(({ node }) => ({
    name: node.customer.name,
    overdue: node.overdueAmount,
    days: node.daysOverdue,
  }));
  return { total, soldAt, balance, owing };
}
