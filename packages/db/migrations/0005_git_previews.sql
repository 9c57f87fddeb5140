CREATE TABLE "previews" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"function_id" text NOT NULL,
	"branch" text NOT NULL,
	"label" text NOT NULL,
	"deployment_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "previews_function_label_unique" UNIQUE("function_id","label")
);
--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "branch" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "commit" text;--> statement-breakpoint
ALTER TABLE "previews" ADD CONSTRAINT "previews_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "previews" ADD CONSTRAINT "previews_function_id_functions_id_fk" FOREIGN KEY ("function_id") REFERENCES "public"."functions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "previews" ADD CONSTRAINT "previews_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "previews_tenant_idx" ON "previews" USING btree ("tenant_id");