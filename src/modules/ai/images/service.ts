import { configOf } from "../../../env";
import { circuitSettingsOf } from "../circuit";
import { withFallbacks, within } from "../fallbacks";
import { type AiCaller, holdCredits, metered } from "../metering";
import { chargeOf, imagesCostOf } from "../pricing";
import { imagesProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { ImagesBody } from "./schema";

/** Images: the price of `n` images is known before the call; the images made are charged. */
export async function generateImages(caller: AiCaller, body: ImagesBody, clientSignal: AbortSignal) {
  const config = configOf(caller.env);
  const deployments = deploymentsOf(config, body.model, ["images"]);
  const held = chargeOf(
    Math.max(...deployments.map((model) => imagesCostOf(model.prices, body.n, body.size, body.quality))),
  );
  const hold = held > 0 ? await holdCredits(caller, held) : null;
  const request = {
    prompt: body.prompt,
    n: body.n,
    size: body.size,
    quality: body.quality,
    format: body.response_format,
  };
  const done = await metered(
    caller,
    hold,
    { endpoint: "images.generations", requestedModel: body.model },
    () =>
      withFallbacks(
        deployments,
        clientSignal,
        { logger: caller.logger, circuit: circuitSettingsOf(config) },
        async (attempt) => {
          const provider = imagesProviderOf(config, attempt.model.provider);
          const images = await within(config.AI_TOTAL_TIMEOUT_MS, attempt, (signal) =>
            provider.generate({ ...request, model: attempt.model.upstream }, signal),
          );
          return { model: attempt.model, images };
        },
      ),
    ({ model, images }) => ({ cost: imagesCostOf(model.prices, images.length, body.size, body.quality) }),
  );
  return {
    charged: done.charged,
    body: {
      created: Math.floor(Date.now() / 1000),
      data: done.images.map((image) => ({
        ...(image.url ? { url: image.url } : {}),
        ...(image.b64Json ? { b64_json: image.b64Json } : {}),
        ...(image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}),
      })),
      usage: { cost_millicredits: done.charged },
    },
  };
}
