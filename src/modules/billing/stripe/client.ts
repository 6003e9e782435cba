import Stripe from "stripe";
import type { z } from "zod";
import type { Config } from "../../../env";
import { AppError } from "../../../platform/errors";
import { checkAnswer } from "../../../platform/upstreams/answers";

/**
 * The Stripe SDK inside the Worker: fetch as its HTTP client, SubtleCrypto for webhook
 * signatures, and the API endpoint from configuration (the local simulator in tests and
 * offline development). One client per configuration.
 */

/** Stripe's default tolerance for a webhook's timestamp. */
const WEBHOOK_TOLERANCE_SECONDS = 300;

const clients = new WeakMap<Config, Stripe>();
const cryptoProvider = Stripe.createSubtleCryptoProvider();

function secretsOf(config: Config) {
  if (!config.STRIPE_SECRET_KEY || !config.STRIPE_WEBHOOK_SECRET) {
    throw new AppError("provider_unavailable", "Billing is not configured on this deployment.");
  }
  return { secretKey: config.STRIPE_SECRET_KEY, webhookSecret: config.STRIPE_WEBHOOK_SECRET };
}

export function stripeOf(config: Config): Stripe {
  let client = clients.get(config);
  if (!client) {
    client = new Stripe(secretsOf(config).secretKey, {
      httpClient: Stripe.createFetchHttpClient(),
      maxNetworkRetries: 2,
      ...(config.STRIPE_API_HOST ? { host: config.STRIPE_API_HOST } : {}),
      ...(config.STRIPE_API_PORT ? { port: config.STRIPE_API_PORT } : {}),
      ...(config.STRIPE_API_PROTOCOL ? { protocol: config.STRIPE_API_PROTOCOL } : {}),
    });
    clients.set(config, client);
  }
  return client;
}

/** The event a webhook delivers, once its signature over the raw body checks out; else 400. */
export async function verifiedEvent(config: Config, rawBody: string, signature: string): Promise<Stripe.Event> {
  const { webhookSecret } = secretsOf(config);
  try {
    return await stripeOf(config).webhooks.constructEventAsync(
      rawBody,
      signature,
      webhookSecret,
      WEBHOOK_TOLERANCE_SECONDS,
      cryptoProvider,
    );
  } catch {
    throw new AppError("invalid_signature", "The Stripe-Signature header does not verify this body (or is too old).");
  }
}

/**
 * A Stripe call made for a request: Stripe's failures answer 503, never a 500; `refusal` may
 * turn Stripe's refusal of something the client sent into that client's 4xx.
 */
export async function viaStripe<T>(
  call: () => Promise<T>,
  refusal?: (error: Stripe.errors.StripeInvalidRequestError) => AppError | undefined,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const refused = error instanceof Stripe.errors.StripeInvalidRequestError ? refusal?.(error) : undefined;
    if (refused) throw refused;
    if (error instanceof Stripe.errors.StripeError) {
      throw new AppError("provider_unavailable", "Stripe did not complete the request; try again shortly.", {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * What is used of a Stripe answer, checked (unknown fields pass, wrong types fail): one that
 * fails answers 503 like any failure of Stripe's, never a 500.
 */
export function fromStripe<S extends z.ZodType>(schema: S, answer: unknown): z.output<S> {
  const checked = checkAnswer(schema, answer);
  if (!checked.ok) {
    throw new AppError("provider_unavailable", "Stripe did not complete the request; try again shortly.", {
      cause: new Error(`stripe: invalid answer: ${checked.problem}`),
    });
  }
  return checked.value;
}
