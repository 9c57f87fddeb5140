CREATE TABLE "function_replicas" (
	"function_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"replicas" integer NOT NULL,
	"updated_at" timestamp (6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "function_replicas" ADD CONSTRAINT "function_replicas_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "function_replicas" ADD CONSTRAINT "function_replicas_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "function_replicas_updated_at" ON "function_replicas" USING btree ("updated_at");