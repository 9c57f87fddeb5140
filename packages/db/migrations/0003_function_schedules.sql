CREATE TABLE "function_schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"function_id" text NOT NULL,
	"name" text NOT NULL,
	"cron" text NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"method" text DEFAULT 'POST' NOT NULL,
	"path" text DEFAULT '/' NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"body" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"next_run_at" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_invocation_id" text,
	"claimed_until" timestamp with time zone,
	"claims" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "function_schedules_function_name_unique" UNIQUE("function_id","name")
);
--> statement-breakpoint
ALTER TABLE "function_schedules" ADD CONSTRAINT "function_schedules_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_schedules" ADD CONSTRAINT "function_schedules_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "function_schedules_tenant_idx" ON "function_schedules" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "function_schedules_due_idx" ON "function_schedules" USING btree ("next_run_at") WHERE "function_schedules"."next_run_at" is not null;