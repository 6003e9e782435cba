import { authRoute } from "../../middleware/auth";
import { defineRoute, jsonRequestBody, jsonResponse } from "../../platform/openapi";
import { PaginationQuery } from "../../platform/pagination";
import {
  AuthResultSchema,
  ChangeEmailBody,
  ChangePasswordBody,
  ForgotPasswordBody,
  JwksSchema,
  LoginBody,
  RefreshBody,
  RegisterBody,
  ResendVerificationBody,
  ResetPasswordBody,
  SessionIdParams,
  SessionListSchema,
  TokenPairSchema,
  UpdateMeBody,
  UserSchema,
  VerifyEmailBody,
} from "./schema";

const noContent = { 204: { description: "Done" } };
const accepted = (description: string) => ({ 202: { description } });
const tags = ["Identity"];

export const register = defineRoute(
  {
    method: "post",
    path: "/v1/auth/register",
    tags,
    summary: "Create an account and sign in",
    description: "Answers 409 when the email is taken: this endpoint reveals which emails have accounts (see README).",
    request: { body: jsonRequestBody(RegisterBody) },
    responses: { 201: jsonResponse(AuthResultSchema, "The new user and a token pair") },
  },
  { errors: ["conflict"], rateLimit: "auth" },
);

export const login = defineRoute(
  {
    method: "post",
    path: "/v1/auth/login",
    tags,
    summary: "Sign in with email and password",
    description:
      "429 `rate_limited` after 5 failed sign-ins for one account from one IP in 15 minutes, or past 60 an hour for the account from any IP (then one try a minute); the same for an email without an account.",
    request: { body: jsonRequestBody(LoginBody) },
    responses: { 200: jsonResponse(AuthResultSchema, "The user and a token pair") },
  },
  { errors: ["invalid_credentials"], rateLimit: "auth" },
);

export const refresh = defineRoute(
  {
    method: "post",
    path: "/v1/auth/refresh",
    tags,
    summary: "Rotate a refresh token for a new token pair",
    request: { body: jsonRequestBody(RefreshBody) },
    responses: { 200: jsonResponse(TokenPairSchema, "A new token pair; the presented refresh token is spent") },
  },
  { errors: ["invalid_refresh_token", "refresh_token_reused"], rateLimit: "auth", whenLimiterDown: "fail_open" },
);

export const logout = authRoute({
  method: "post",
  path: "/v1/auth/logout",
  tags,
  summary: "End this session",
  responses: noContent,
});

export const logoutAll = authRoute({
  method: "post",
  path: "/v1/auth/logout-all",
  tags,
  summary: "End every session of the caller",
  responses: noContent,
});

export const jwks = defineRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags,
  summary: "Public keys that verify access tokens",
  responses: { 200: jsonResponse(JwksSchema, "The JSON Web Key Set") },
});

export const getMe = authRoute({
  method: "get",
  path: "/v1/me",
  tags,
  summary: "The signed-in user",
  responses: { 200: jsonResponse(UserSchema, "The user") },
});

export const updateMe = authRoute({
  method: "patch",
  path: "/v1/me",
  tags,
  summary: "Update name, locale, time zone or preferences",
  request: { body: jsonRequestBody(UpdateMeBody) },
  responses: { 200: jsonResponse(UserSchema, "The updated user") },
});

export const changePassword = authRoute(
  {
    method: "post",
    path: "/v1/me/password",
    tags,
    summary: "Change the password; every other session ends",
    request: { body: jsonRequestBody(ChangePasswordBody) },
    responses: noContent,
  },
  { rateLimit: "auth" },
);

export const listSessions = authRoute({
  method: "get",
  path: "/v1/me/sessions",
  tags,
  summary: "The caller's live sessions",
  request: { query: PaginationQuery },
  responses: { 200: jsonResponse(SessionListSchema, "A page of sessions, newest first") },
});

export const endSession = authRoute(
  {
    method: "delete",
    path: "/v1/me/sessions/{id}",
    tags,
    summary: "End one of the caller's sessions",
    request: { params: SessionIdParams },
    responses: noContent,
  },
  { errors: ["not_found"] },
);

export const verifyEmail = defineRoute(
  {
    method: "post",
    path: "/v1/auth/verify-email",
    tags,
    summary: "Confirm an email address (or an email change) with the emailed token",
    request: { body: jsonRequestBody(VerifyEmailBody) },
    responses: noContent,
  },
  { errors: ["invalid_token", "conflict"], rateLimit: "auth", whenLimiterDown: "fail_open" },
);

export const resendVerification = defineRoute(
  {
    method: "post",
    path: "/v1/auth/verify-email/resend",
    tags,
    summary: "Email a new verification link",
    description:
      "Always 202: a link goes out only when the account exists and is not verified yet, which the answer does not reveal.",
    request: { body: jsonRequestBody(ResendVerificationBody) },
    responses: accepted("If the account needs one, a link is on its way"),
  },
  { rateLimit: "auth" },
);

export const forgotPassword = defineRoute(
  {
    method: "post",
    path: "/v1/auth/password/forgot",
    tags,
    summary: "Email a password-reset link",
    description: "Always 202, whether or not the account exists, so it reveals nothing.",
    request: { body: jsonRequestBody(ForgotPasswordBody) },
    responses: accepted("If the account exists, a link is on its way"),
  },
  { rateLimit: "auth" },
);

export const resetPassword = defineRoute(
  {
    method: "post",
    path: "/v1/auth/password/reset",
    tags,
    summary: "Set a new password with the emailed token; every session ends",
    request: { body: jsonRequestBody(ResetPasswordBody) },
    responses: noContent,
  },
  { errors: ["invalid_token"], rateLimit: "auth", whenLimiterDown: "fail_open" },
);

export const changeEmail = authRoute(
  {
    method: "post",
    path: "/v1/me/email",
    tags,
    summary: "Change the email address once the new one is verified",
    request: { body: jsonRequestBody(ChangeEmailBody) },
    responses: accepted("A confirmation link was sent to the new address"),
  },
  { errors: ["conflict"], rateLimit: "auth" },
);
