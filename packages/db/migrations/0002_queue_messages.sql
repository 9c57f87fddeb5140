CREATE TABLE "queue_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"tenant_id" text NOT NULL,
	"function_id" text NOT NULL,
	"idempotency_key" text,
	"payload" "bytea" NOT NULL,
	"payload_json" boolean NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"visible_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"enqueued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "queue_messages_status_check" CHECK ("queue_messages"."status" in ('queued', 'running', 'succeeded', 'dead'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "queue_messages_idempotency_idx" ON "queue_messages" USING btree ("queue","tenant_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "queue_messages_due_idx" ON "queue_messages" USING btree ("queue","visible_at") WHERE "queue_messages"."status" in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "queue_messages_succeeded_idx" ON "queue_messages" USING btree ("queue","finished_at") WHERE "queue_messages"."status" = 'succeeded';--> statement-breakpoint
CREATE INDEX "queue_messages_dead_idx" ON "queue_messages" USING btree ("queue","tenant_id","finished_at","id") WHERE "queue_messages"."status" = 'dead';