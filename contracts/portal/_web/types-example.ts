// docs/portal.md's example of typing fetch calls with the types generated from
// the contract (contracts/minbil-ratings.d.ts). `make check-types` compiles
// it with tsc --strict, so the documented import keeps working.
import type { components, paths } from "../../minbil-ratings";

type RatingList = components["schemas"]["RatingList"];
type RateRequest = components["schemas"]["RateRequest"];
type RateAnswer = paths["/api/co/rating/rate/{booking_id}"]["post"]["responses"][200]["content"]["application/json"];
type ApiError = components["schemas"]["Error"];

const BASE_URL = "http://localhost:5000";

async function answer<T>(res: Response): Promise<T> {
  if (!res.ok) {
    const { error } = (await res.json()) as ApiError;
    throw new Error(`${res.status} ${error.code}: ${error.message}`);
  }
  return (await res.json()) as T;
}

export async function listRatings(token?: string): Promise<RatingList> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return answer<RatingList>(await fetch(`${BASE_URL}/api/co/rating`, { headers }));
}

export async function rateBooking(bookingId: number, rating: RateRequest): Promise<RateAnswer> {
  const res = await fetch(`${BASE_URL}/api/co/rating/rate/${bookingId}`, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
    body: JSON.stringify(rating),
  });
  return answer<RateAnswer>(res);
}

export async function example(): Promise<void> {
  const stored = await rateBooking(123, { service_rating: 5, service_rating_message: "Rask og grundig service.", private_service_rating: true });
  const list = await listRatings();
  console.log(stored.data.booking_id, list.total, list.items.map((item) => item.workshop_name));
}
